/**
 * Threshold verdicts: each parsed threshold checked against every cell it
 * selects. A threshold that selects no cell fails: a typo in a filter must
 * not pass silently.
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import { cellValue } from '../metrics/slo.js';
import { thresholdCellValue } from '../scenario/thresholds.js';
import type { CellKey, MetricName, Threshold } from '../types.js';

export interface ThresholdResult {
  threshold: Threshold;
  /** The cell checked; undefined when the threshold selected none. */
  cell?: CellKey;
  /** The cell's value, in the threshold's unit; undefined when it has none (no samples, no SLO for goodput). */
  measured?: number;
  ok: boolean;
}

export function evaluateThresholds(thresholds: readonly Threshold[], cells: readonly CellSummary[]): ThresholdResult[] {
  return thresholds.flatMap((threshold): ThresholdResult[] => {
    const selected = cells.filter((cell) => selects(threshold, cell));
    if (selected.length === 0) return [{ threshold, ok: false }];
    return selected.map((cell) => {
      const measured = measure(threshold, cell);
      return {
        threshold,
        cell: { model: cell.model, load: cell.load },
        ...(measured !== undefined ? { measured } : {}),
        ok: measured !== undefined && holds(measured, threshold),
      };
    });
  });
}

function selects(threshold: Threshold, cell: CellSummary): boolean {
  const { model, concurrency, rate, speedup } = threshold.filters;
  if (model !== undefined && cell.model !== model) return false;
  if (speedup !== undefined && cell.load.trace?.speedup !== speedup) return false;
  if (concurrency !== undefined && !(cell.load.kind === 'concurrency' && cell.load.value === concurrency)) return false;
  if (rate !== undefined && !(cell.load.kind === 'rate' && cell.load.value === rate)) return false;
  return true;
}

function measure(threshold: Threshold, cell: CellSummary): number | undefined {
  const bounded = thresholdCellValue(threshold);
  if (bounded) return bounded.value(cell);
  const metric = threshold.metric as MetricName;
  return cellValue(cell.histograms[metric], metric, threshold.stat as Exclude<Threshold['stat'], 'rate'>);
}

function holds(measured: number, threshold: Threshold): boolean {
  switch (threshold.op) {
    case '<':
      return measured < threshold.value;
    case '<=':
      return measured <= threshold.value;
    case '>':
      return measured > threshold.value;
    case '>=':
      return measured >= threshold.value;
  }
}
