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
import { deriveSeed, seededRandom, type Random } from '../util/random.js';
import { fieldName, HISTOGRAM_METRICS, type HistogramMetric } from '../metrics/catalog.js';
import { parsePercentile } from '../scenario/slo.js';
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
  /** Allowed worsening, as a share (0.1 = 10%); for `errors.rate`, in percentage points (0.01 = 1 point). */
  margin: number;
  /** `errors.rate`: failed (and dropped) requests over all, compared as an absolute difference of proportions. */
  errorRate?: true;
}

/**
 * Per-request metrics a rule may name: the catalog's with `baselineCheck`,
 * latencies (lower is better) before throughputs. Samples come from each
 * one's requests.jsonl field (`ttft_ms`).
 */
const RULE_METRICS = new Map<string, HistogramMetric>(
  HISTOGRAM_METRICS.filter((metric) => metric.baselineCheck)
    .sort((a, b) => Number(a.better === 'higher') - Number(b.better === 'higher'))
    .map((metric) => [metric.name, metric]),
);

export const DEFAULT_MAX_REGRESSION = 'ttft.p95=10%,tpot.p95=10%,e2e.p95=10%,decode_tokens_per_s.p50=10%,errors.rate=1%';

/** Parses `ttft.p95=10%,tpot.p99=5%,errors.rate=1%`; throws an Error naming the bad item. */
export function parseRegressionRules(text: string): RegressionRule[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item): RegressionRule => {
      const errors = /^errors\.rate=(\d+(?:\.\d+)?)%$/.exec(item);
      if (errors) return { key: 'errors.rate', field: '', percentile: NaN, higherIsBetter: false, margin: Number(errors[1]) / 100, errorRate: true };
      const match = /^([a-z][a-z0-9_]*)\.(p[\d.]+)=(\d+(?:\.\d+)?)%$/.exec(item);
      const metric = match ? RULE_METRICS.get(match[1]!) : undefined;
      const percentile = match ? parsePercentile(match[2]!) : undefined;
      if (!match || !metric || percentile === undefined) {
        throw new Error(
          `--max-regression: "${item}" must be METRIC.pNN=N% (METRIC one of ${[...RULE_METRICS.keys()].join(', ')}; e.g. ttft.p95=10%) or errors.rate=N%`,
        );
      }
      return {
        key: `${match[1]}.${match[2]}`,
        field: fieldName(metric.name),
        percentile,
        higherIsBetter: metric.better === 'higher',
        margin: Number(match[3]) / 100,
      };
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
  /** Confidence interval of the worsening; undefined when the samples are too few to judge this percentile. */
  interval?: [number, number];
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
export function percentileOf(sorted: ArrayLike<number>, percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Bootstraps the relative change of one percentile between two samples.
 *
 * Each resample draws m = min(n₁, n₂) values from each side (the m-out-of-n
 * bootstrap): a small sample's high percentile is biased low (its p99 is its
 * maximum), and drawing the same m from both sides gives both the same bias,
 * so unequal sample sizes do not pass for a change. When m holds less than
 * one value beyond the percentile there is nothing to judge: no interval, no verdict.
 */
export function compareSamples(
  baselineSamples: readonly number[],
  currentSamples: readonly number[],
  rule: RegressionRule,
  options: CompareOptions = {},
): Omit<Comparison, 'cell' | 'rule'> {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const worseningOf = (baseline: number, current: number) => (rule.higherIsBetter ? baseline - current : current - baseline) / baseline;
  const baseline = percentileOf(Float64Array.from(baselineSamples).sort(), rule.percentile);
  const current = percentileOf(Float64Array.from(currentSamples).sort(), rule.percentile);
  const result = {
    baseline,
    current,
    worsening: worseningOf(baseline, current),
    regression: false,
    improvement: false,
    samples: { baseline: baselineSamples.length, current: currentSamples.length },
  };
  const m = Math.min(baselineSamples.length, currentSamples.length);
  if (m * (1 - rule.percentile / 100) < 1) return result;

  const random = seededRandom(deriveSeed(options.seed ?? 1, baselineSamples.length, currentSamples.length));
  const a = new Float64Array(m);
  const b = new Float64Array(m);
  const draws = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    draw(baselineSamples, a, random);
    draw(currentSamples, b, random);
    draws[i] = worseningOf(percentileOf(a.sort(), rule.percentile), percentileOf(b.sort(), rule.percentile));
  }
  draws.sort();
  const interval = bounds(draws, confidence);
  return { ...result, interval, regression: interval[0] > rule.margin, improvement: interval[1] < -rule.margin };
}

/** Fills `into` with values drawn from `values` with replacement. */
function draw(values: readonly number[], into: Float64Array, random: Random): void {
  for (let i = 0; i < into.length; i++) into[i] = values[Math.floor(random() * values.length)]!;
}

/** The central `confidence` share of sorted draws. */
function bounds(sorted: Float64Array, confidence: number): [number, number] {
  const tail = (1 - confidence) / 2;
  return [sorted[Math.floor(tail * (sorted.length - 1))]!, sorted[Math.ceil((1 - tail) * (sorted.length - 1))]!];
}

/**
 * The error rates of two runs' cells: failed (and dropped) requests over all
 * measured ones. A regression when the rise, less its normal-approximation
 * margin of error, still exceeds the allowed points.
 */
export function compareErrorRates(
  baseline: { requests: number; failed: number },
  current: { requests: number; failed: number },
  rule: RegressionRule,
  confidence = 0.95,
): Omit<Comparison, 'cell' | 'rule'> {
  const p0 = baseline.requests > 0 ? baseline.failed / baseline.requests : 0;
  const p1 = current.requests > 0 ? current.failed / current.requests : 0;
  // Wilson-style continuity: never a zero-width interval, even when one side saw no failure.
  const variance = (p: number, n: number) => (n > 0 ? Math.max(p * (1 - p), 1 / (n + 1)) / n : 0);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const halfWidth = z * Math.sqrt(variance(p0, baseline.requests) + variance(p1, current.requests));
  const interval: [number, number] = [p1 - p0 - halfWidth, p1 - p0 + halfWidth];
  return {
    baseline: p0,
    current: p1,
    worsening: p1 - p0,
    interval,
    regression: interval[0] > rule.margin,
    improvement: interval[1] < -rule.margin,
    samples: { baseline: baseline.requests, current: current.requests },
  };
}

/** The standard normal quantile (Acklam's rational approximation; ample for confidence levels). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** A request as requests.jsonl has it (only the fields compared). */
export type RequestLine = Record<string, unknown> & { model: string; concurrency?: number; rate?: number; warmup: boolean; outcome: string };

/** One cell of a run: samples of each rule's field from its successful requests, and how many failed. */
export interface CellSamples {
  cell: CellKey;
  samples: Map<string, number[]>;
  /** Measured requests, interrupted ones left out (dropped ones in), and those that failed or were dropped. */
  requests: number;
  failed: number;
}

/** Per-cell samples and failure counts, from the lines of one run (warm-up left out). */
export function samplesByCell(lines: readonly RequestLine[], rules: readonly RegressionRule[]): Map<string, CellSamples> {
  const cells = new Map<string, CellSamples>();
  for (const line of lines) {
    if (line.warmup) continue;
    if ((line.error as { class?: string } | null | undefined)?.class === 'interrupted') continue; // Ctrl-C, not the server
    const cell = lineCell(line);
    const id = cellId(cell);
    let entry = cells.get(id);
    if (!entry) cells.set(id, (entry = { cell, samples: new Map(), requests: 0, failed: 0 }));
    entry.requests++;
    if (line.outcome !== 'ok') {
      entry.failed++;
      continue;
    }
    for (const rule of rules) {
      const value = line[rule.field];
      if (rule.errorRate || typeof value !== 'number' || !Number.isFinite(value)) continue;
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

/**
 * Every rule for every cell of the baseline. A baseline cell this run did not
 * produce is `missing` (a regression: the build could not run it); a cell
 * whose requests all failed is caught by `errors.rate`. Cells only this run
 * has are listed apart.
 */
export function compareRuns(
  baselineLines: readonly RequestLine[],
  currentLines: readonly RequestLine[],
  rules: readonly RegressionRule[],
  options: CompareOptions = {},
): { comparisons: Comparison[]; missing: CellKey[]; onlyInCurrent: CellKey[] } {
  const baseline = samplesByCell(baselineLines, rules);
  const current = samplesByCell(currentLines, rules);
  const comparisons: Comparison[] = [];
  for (const [id, base] of baseline) {
    const now = current.get(id);
    if (!now) continue;
    for (const rule of rules) {
      if (rule.errorRate) {
        comparisons.push({ cell: now.cell, rule, ...compareErrorRates(base, now, rule, options.confidence) });
        continue;
      }
      const b = base.samples.get(rule.field) ?? [];
      const c = now.samples.get(rule.field) ?? [];
      if (b.length === 0 || c.length === 0) continue; // no TPOT in one-token replies; no successes (errors.rate says so)
      comparisons.push({ cell: now.cell, rule, ...compareSamples(b, c, rule, options) });
    }
  }
  return {
    comparisons,
    missing: [...baseline.entries()].filter(([id]) => !current.has(id)).map(([, v]) => v.cell),
    onlyInCurrent: [...current.entries()].filter(([id]) => !baseline.has(id)).map(([, v]) => v.cell),
  };
}
