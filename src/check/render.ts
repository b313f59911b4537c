/** Threshold and baseline verdicts as terminal lines, Markdown and JUnit cases. Pure. */
import type { Unit } from '../metrics/catalog.js';
import { thresholdUnit } from '../scenario/thresholds.js';
import type { CellKey, Threshold } from '../types.js';
import { escapeMarkdown, escapeMarkdownPipes } from '../util/escape.js';
import { loadLabel, roundedText, signedPercent, signedPoints } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';
import type { Comparison } from './baseline.js';
import type { JunitCase } from './junit.js';
import type { ThresholdResult } from './thresholds.js';

/** How a value of each unit reads after its number (a share is shown as a percentage). */
const UNIT_TEXT: Record<Exclude<Unit, 'share'>, string> = { ms: ' ms', tokens: ' tokens', 'tokens/s': ' tok/s', 'req/s': ' req/s', count: '' };

/** A measured value in the threshold's own unit (the catalog's): `612.3 ms`, `1.2%`, `930 tok/s`. */
export function formatMeasured(threshold: Threshold, value: number | undefined): string {
  if (value === undefined) return 'no value';
  const unit = thresholdUnit(threshold);
  return unit === 'share' ? `${roundedText(value * 100)}%` : `${roundedText(value)}${UNIT_TEXT[unit]}`;
}

const where = (result: ThresholdResult): string => (result.cell ? `${result.cell.model} @ ${loadLabel(result.cell.load)}` : 'no cell matched');

/** One line per threshold × cell, failures first. */
export function renderThresholdLines(results: readonly ThresholdResult[]): string {
  if (results.length === 0) return '';
  const sorted = [...results].sort((a, b) => Number(a.ok) - Number(b.ok));
  const lines = sorted.map(
    (r) => `  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.threshold.source}  (${where(r)}: ${r.cell ? formatMeasured(r.threshold, r.measured) : 'the threshold selects no cell'})`,
  );
  const failed = results.filter((r) => !r.ok).length;
  return [`thresholds: ${failed === 0 ? 'all hold' : `${failed} of ${results.length} failed`}`, ...lines, ''].join('\n');
}

export function thresholdCases(results: readonly ThresholdResult[]): JunitCase[] {
  return results.map((r) => ({
    name: r.threshold.source,
    classname: where(r),
    ...(r.ok ? {} : { failure: r.cell ? `measured ${formatMeasured(r.threshold, r.measured)}` : 'the threshold selects no cell' }),
  }));
}

export function renderThresholdMarkdown(title: string, results: readonly ThresholdResult[]): string {
  const failed = results.filter((r) => !r.ok).length;
  const rows = results.map((r) => `| ${r.ok ? '✅' : '❌'} | \`${escapeMarkdownPipes(r.threshold.source)}\` | ${escapeMarkdown(where(r))} | ${r.cell ? formatMeasured(r.threshold, r.measured) : '—'} |`);
  return [
    `### tokenmeter: ${escapeMarkdown(title)}: ${failed === 0 ? 'all thresholds hold' : `${failed} of ${results.length} thresholds failed`}`,
    '',
    '| | threshold | cell | measured |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const cellName = (cell: CellKey): string => `${cell.model} @ ${loadLabel(cell.load)}`;
const verdictOf = (c: Comparison): string =>
  c.regression ? 'REGRESSION' : c.improvement ? 'improved' : c.interval ? 'ok' : 'too few samples';

/** Change and interval: relative for percentiles, percentage points (`pp`) for error rates. */
const change = (c: Comparison, value: number): string =>
  c.rule.errorRate ? signedPoints(value) : signedPercent(value);
const intervalText = (c: Comparison): string => (c.interval ? `[${change(c, c.interval[0])}, ${change(c, c.interval[1])}]` : '—');
// Margins are never negative: the sign is always +.
const allowed = (c: Comparison): string => (c.rule.errorRate ? signedPoints(c.rule.margin) : signedPercent(c.rule.margin, 0));
const valueText = (c: Comparison, value: number): string => (c.rule.errorRate ? `${roundedText(value * 100, 2)}%` : roundedText(value, 2));

/** The verdict on a check: the comparisons, and the baseline cells this run did not produce. */
export interface CheckVerdict {
  comparisons: readonly Comparison[];
  missing: readonly CellKey[];
}

/** One row per cell × compared metric: baseline, current, change with its interval, verdict. */
export function renderComparisonLines(verdict: CheckVerdict, confidence: number): string {
  const header = ['cell', 'metric', 'baseline', 'current', 'change', `${Math.round(confidence * 100)}% interval`, 'allowed', 'verdict'];
  const rows = verdict.comparisons.map((c) => [
    cellName(c.cell),
    c.rule.key,
    valueText(c, c.baseline),
    valueText(c, c.current),
    change(c, c.worsening),
    intervalText(c),
    allowed(c),
    verdictOf(c),
  ]);
  const regressions = verdict.comparisons.filter((c) => c.regression);
  const failures = [
    ...regressions.map((c) => `${c.rule.key} in ${cellName(c.cell)} ${change(c, c.worsening)}`),
    ...verdict.missing.map((cell) => `${cellName(cell)} is in the baseline but not in this run`),
  ];
  return [
    ...textTableLines(header.map((title) => ({ title })), rows),
    '(change: how much worse, + is worse for latencies and throughputs alike; "too few samples": fewer than one request beyond the percentile)',
    failures.length === 0 ? 'no regression beyond the allowed margins' : `${failures.length} regression(s): ${failures.join('; ')}`,
    '',
  ].join('\n');
}

export function comparisonCases(verdict: CheckVerdict): JunitCase[] {
  return [
    ...verdict.comparisons.map((c) => ({
      name: `${c.rule.key} within ${allowed(c)}`,
      classname: cellName(c.cell),
      ...(c.regression
        ? { failure: `${c.rule.key} ${valueText(c, c.baseline)} → ${valueText(c, c.current)} (${change(c, c.worsening)}, interval ${intervalText(c)})` }
        : {}),
    })),
    ...verdict.missing.map((cell) => ({ name: 'the cell ran', classname: cellName(cell), failure: 'in the baseline, but not in this run' })),
  ];
}

export function renderComparisonMarkdown(title: string, verdict: CheckVerdict): string {
  const failures = verdict.comparisons.filter((c) => c.regression).length + verdict.missing.length;
  return [
    `### tokenmeter check: ${escapeMarkdown(title)}: ${failures === 0 ? 'no regression' : `${failures} regression(s)`}`,
    '',
    '| | cell | metric | baseline | current | change | interval | allowed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...verdict.comparisons.map(
      (c) =>
        `| ${c.regression ? '❌' : c.improvement ? '🟢' : '✅'} | ${escapeMarkdown(cellName(c.cell))} | ${c.rule.key} | ${valueText(c, c.baseline)} | ${valueText(c, c.current)} | ${change(c, c.worsening)} | ${intervalText(c)} | ${allowed(c)} |`,
    ),
    ...verdict.missing.map((cell) => `| ❌ | ${escapeMarkdown(cellName(cell))} | (the cell) | ran | missing | | | |`),
    '',
  ].join('\n');
}
