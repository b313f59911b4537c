/**
 * `tokenmeter compare`: contenders (the models of one run, or of several runs)
 * side by side at each load level, with the better value marked and each
 * difference to the first contender, with its bootstrap interval where the
 * per-request samples allow one (TTFT, TPOT, E2E percentiles).
 */
import { CELL_VALUES_BY_NAME, fieldName, METRICS, type CellValueName, type MetricName } from '../metrics/catalog.js';
import type { CellSummary } from '../metrics/cell-summary.js';
import type { LoadLevel, SideBySide, SideBySideValue } from '../types.js';
import { cellId, compareSamples, samplesByCell, type RegressionRule, type RequestLine } from './baseline.js';

/** One side of the comparison: a model's cells from one run, with that run's request lines. */
export interface Contender {
  name: string;
  cells: CellSummary[];
  lines: RequestLine[];
}

interface RowSpec {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** The cell's value. */
  value: (cell: CellSummary) => number | undefined;
  /** Per-request samples for an interval: a requests.jsonl field and the percentile. */
  samples?: { field: string; percentile: number };
}

/** A percentile of a distribution, labelled and directed by the catalog; with an interval where requests.jsonl has its per-request samples. */
const percentileRow = (metric: MetricName, p: 50 | 95 | 99): RowSpec => {
  const { label, unit, better, value } = METRICS[metric];
  return {
    metric: `${label} p${p}`,
    unit,
    higherIsBetter: better === 'higher',
    value: (cell) => cell.stats[metric]?.[`p${p}`],
    // ITL samples are per token, which requests.jsonl does not list: no interval.
    ...(value ? { samples: { field: fieldName(metric), percentile: p } } : {}),
  };
};

/** A cell value, labelled and directed by the catalog; a share reads as a percentage. */
const cellValueRow = (name: CellValueName): RowSpec => {
  const { label, unit, better, value } = CELL_VALUES_BY_NAME[name];
  const percent = unit === 'share';
  return {
    metric: label,
    unit: percent ? '%' : unit,
    higherIsBetter: better === 'higher',
    value: (cell) => {
      const measured = value(cell);
      return percent && measured !== undefined ? measured * 100 : measured;
    },
  };
};

const ROWS: readonly RowSpec[] = [
  percentileRow('ttft', 50),
  percentileRow('ttft', 95),
  percentileRow('ttft', 99),
  percentileRow('tpot', 50),
  percentileRow('tpot', 95),
  percentileRow('itl', 50),
  percentileRow('itl', 99),
  percentileRow('e2e', 50),
  percentileRow('e2e', 95),
  percentileRow('e2e', 99),
  cellValueRow('output_tokens_per_s'),
  cellValueRow('goodput'),
  cellValueRow('errors.rate'),
];

export function compareContenders(contenders: readonly Contender[], confidence = 0.95): SideBySide {
  const loads = new Map<string, LoadLevel>();
  for (const contender of contenders) for (const cell of contender.cells) loads.set(`${cell.load.kind}:${cell.load.value}`, cell.load);
  const sortedLoads = [...loads.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.value - b.value);
  // Each contender's per-request samples by cell, gathered once for every level and row.
  const samplesOf = contenders.map((c) => samplesByCell(c.lines, SAMPLED_FIELDS));
  return {
    contenders: contenders.map((c) => c.name),
    confidence,
    levels: sortedLoads.map((load) => {
      const cells = contenders.map((c) => c.cells.find((cell) => cell.load.kind === load.kind && cell.load.value === load.value));
      const samples = cells.map((cell, i) => (cell ? samplesOf[i]!.get(cellId(cell))?.samples : undefined));
      return { load, rows: ROWS.map((row) => compareRow(row, cells, samples, confidence)) };
    }),
  };
}

/** The fields rows take per-request samples of (samplesByCell reads only `field`). */
const SAMPLED_FIELDS: RegressionRule[] = [...new Set(ROWS.flatMap((row) => (row.samples ? [row.samples.field] : [])))].map((field) => ({
  key: field,
  field,
  percentile: 50,
  higherIsBetter: false,
  margin: 0,
}));

function compareRow(
  row: RowSpec,
  cells: (CellSummary | undefined)[],
  samples: (Map<string, number[]> | undefined)[],
  confidence: number,
): SideBySide['levels'][number]['rows'][number] {
  const raw = cells.map((cell) => (cell ? row.value(cell) : undefined));
  const present = raw.filter((v): v is number => v !== undefined);
  const best = present.length > 1 ? (row.higherIsBetter ? Math.max(...present) : Math.min(...present)) : undefined;
  const reference = raw[0];
  const values = raw.map((value, i): SideBySideValue | undefined => {
    if (value === undefined) return undefined;
    const entry: SideBySideValue = { value, best: value === best };
    if (i > 0 && reference !== undefined && reference !== 0) {
      entry.diff = { change: (value - reference) / reference };
      const a = row.samples && samples[0]?.get(row.samples.field);
      const b = row.samples && samples[i]?.get(row.samples.field);
      if (row.samples && a && b) {
        // higherIsBetter: false makes the bootstrapped "worsening" the plain relative change, like diff.change, whatever the row's direction.
        const rule: RegressionRule = { key: row.metric, field: row.samples.field, percentile: row.samples.percentile, higherIsBetter: false, margin: 0 };
        const interval = compareSamples(a, b, rule, { confidence }).interval;
        if (interval) entry.diff.interval = interval;
      }
    }
    return entry;
  });
  return { metric: row.metric, unit: row.unit, higherIsBetter: row.higherIsBetter, values };
}
