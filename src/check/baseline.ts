/**
 * Baseline comparison: is this run slower than the baseline, beyond an
 * allowed margin, and beyond the noise? For each cell in both runs and each
 * compared metric, a percentile bootstrap (Efron & Tibshirani, "An
 * Introduction to the Bootstrap", ch. 13) of the relative change of the
 * percentile, from the per-request samples of requests.jsonl. A regression is
 * reported only when the whole confidence interval lies beyond the margin:
 * larger than allowed AND statistically significant, so a noisy shared CI
 * machine does not flap the gate.
 */
import { deriveSeed, seededRandom, type Random } from '../load/seeded-random.js';
import type { CellKey } from '../types.js';

/** A compared metric: `ttft.p95=10%` → the p95 of per-request TTFT may worsen by up to 10%. */
export interface RegressionRule {
  /** `ttft.p95`, as written. */
  key: string;
  /** The requests.jsonl field the samples come from. */
  field: string;
  percentile: number;
  /** Throughputs: a drop is the regression. Latencies: a rise. */
  higherIsBetter: boolean;
  /** Allowed worsening, as a share (0.1 = 10%). */
  margin: number;
}

/** Per-request metrics a rule may name, with their requests.jsonl field. */
const RULE_METRICS: Record<string, { field: string; higherIsBetter: boolean }> = {
  ttft: { field: 'ttft_ms', higherIsBetter: false },
  ttfo: { field: 'ttfo_ms', higherIsBetter: false },
  tpot: { field: 'tpot_ms', higherIsBetter: false },
  e2e: { field: 'e2e_ms', higherIsBetter: false },
  ttfb: { field: 'ttfb_ms', higherIsBetter: false },
  scheduled_ttft: { field: 'scheduled_ttft_ms', higherIsBetter: false },
  output_tokens_per_s: { field: 'output_tokens_per_s', higherIsBetter: true },
  decode_tokens_per_s: { field: 'decode_tokens_per_s', higherIsBetter: true },
};

export const DEFAULT_MAX_REGRESSION = 'ttft.p95=10%,tpot.p95=10%,e2e.p95=10%,decode_tokens_per_s.p50=10%';

/** Parses `ttft.p95=10%,tpot.p99=5%`; throws an Error naming the bad item. */
export function parseRegressionRules(text: string): RegressionRule[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const match = /^([a-z][a-z0-9_]*)\.p(\d+(?:\.\d+)?)=(\d+(?:\.\d+)?)%$/.exec(item);
      const metric = match ? RULE_METRICS[match[1]!] : undefined;
      const percentile = match ? Number(match[2]) : NaN;
      if (!match || !metric || !(percentile > 0 && percentile < 100)) {
        throw new Error(
          `--max-regression: "${item}" must be METRIC.pNN=N%, with METRIC one of ${Object.keys(RULE_METRICS).join(', ')} (e.g. ttft.p95=10%)`,
        );
      }
      return { key: `${match[1]}.p${match[2]}`, field: metric.field, percentile, higherIsBetter: metric.higherIsBetter, margin: Number(match[3]) / 100 };
    });
}

export interface Comparison {
  cell: CellKey;
  rule: RegressionRule;
  /** The percentile in the baseline and in this run, in the metric's unit. */
  baseline: number;
  current: number;
  /** Relative worsening (positive = worse): (current − baseline) / baseline, sign flipped for throughputs. */
  worsening: number;
  /** Confidence interval of the worsening. */
  interval: [number, number];
  /** Worse than the margin across the whole interval. */
  regression: boolean;
  /** Better than the margin across the whole interval (the mirror image: a significant improvement). */
  improvement: boolean;
  samples: { baseline: number; current: number };
}

export interface CompareOptions {
  /** Two-sided confidence level of the interval (default 0.95). */
  confidence?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  seed?: number;
}

/** The p-th percentile of sorted values, by the nearest-rank method (as HdrHistogram reports it). */
export function percentileOf(sorted: readonly number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Bootstraps the relative change of one percentile between two samples. */
export function compareSamples(
  baselineSamples: readonly number[],
  currentSamples: readonly number[],
  rule: RegressionRule,
  options: CompareOptions = {},
): Omit<Comparison, 'cell' | 'rule'> {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const random = seededRandom(deriveSeed(options.seed ?? 1, baselineSamples.length, currentSamples.length));
  const sortedNumbers = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  const worseningOf = (baseline: number, current: number) => ((rule.higherIsBetter ? baseline - current : current - baseline) / baseline);

  const baseline = percentileOf(sortedNumbers(baselineSamples), rule.percentile);
  const current = percentileOf(sortedNumbers(currentSamples), rule.percentile);
  const draws = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    const b = percentileOf(sortedNumbers(resample(baselineSamples, random)), rule.percentile);
    const c = percentileOf(sortedNumbers(resample(currentSamples, random)), rule.percentile);
    draws[i] = worseningOf(b, c);
  }
  draws.sort();
  const tail = (1 - confidence) / 2;
  const interval: [number, number] = [draws[Math.floor(tail * (resamples - 1))]!, draws[Math.ceil((1 - tail) * (resamples - 1))]!];
  return {
    baseline,
    current,
    worsening: worseningOf(baseline, current),
    interval,
    regression: interval[0] > rule.margin,
    improvement: interval[1] < -rule.margin,
    samples: { baseline: baselineSamples.length, current: currentSamples.length },
  };
}

function resample(values: readonly number[], random: Random): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(random() * values.length)]!;
  return out;
}

/** A measured, successful request as requests.jsonl has it (only the fields compared). */
export type RequestLine = Record<string, unknown> & { model: string; concurrency?: number; rate?: number; warmup: boolean; outcome: string };

/** Per-cell samples of each rule's field, from the lines of one run. */
export function samplesByCell(lines: readonly RequestLine[], rules: readonly RegressionRule[]): Map<string, { cell: CellKey; samples: Map<string, number[]> }> {
  const cells = new Map<string, { cell: CellKey; samples: Map<string, number[]> }>();
  for (const line of lines) {
    if (line.warmup || line.outcome !== 'ok') continue;
    const cell = lineCell(line);
    const id = cellId(cell);
    let entry = cells.get(id);
    if (!entry) cells.set(id, (entry = { cell, samples: new Map() }));
    for (const rule of rules) {
      const value = line[rule.field];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      let list = entry.samples.get(rule.field);
      if (!list) entry.samples.set(rule.field, (list = []));
      list.push(value);
    }
  }
  return cells;
}

/** The cell a requests.jsonl line belongs to. */
export function lineCell(line: RequestLine): CellKey {
  return {
    model: line.model,
    load: line.rate !== undefined ? { kind: 'rate', value: line.rate } : { kind: 'concurrency', value: line.concurrency ?? 0 },
  };
}

export const cellId = (cell: CellKey): string => `${cell.model}\u0000${cell.load.kind}\u0000${cell.load.value}`;

/** Every rule for every cell the two runs share. Cells in only one run are listed apart. */
export function compareRuns(
  baselineLines: readonly RequestLine[],
  currentLines: readonly RequestLine[],
  rules: readonly RegressionRule[],
  options: CompareOptions = {},
): { comparisons: Comparison[]; onlyInBaseline: CellKey[]; onlyInCurrent: CellKey[] } {
  const baseline = samplesByCell(baselineLines, rules);
  const current = samplesByCell(currentLines, rules);
  const comparisons: Comparison[] = [];
  for (const [id, { cell, samples }] of current) {
    const base = baseline.get(id);
    if (!base) continue;
    for (const rule of rules) {
      const b = base.samples.get(rule.field) ?? [];
      const c = samples.get(rule.field) ?? [];
      if (b.length === 0 || c.length === 0) continue; // e.g. no TPOT in one-token replies
      comparisons.push({ cell, rule, ...compareSamples(b, c, rule, options) });
    }
  }
  return {
    comparisons,
    onlyInBaseline: [...baseline.entries()].filter(([id]) => !current.has(id)).map(([, v]) => v.cell),
    onlyInCurrent: [...current.entries()].filter(([id]) => !baseline.has(id)).map(([, v]) => v.cell),
  };
}
