/**
 * The rules `check` judges by (`--max-regression`), the per-cell samples of a
 * run's requests.jsonl, and a percentile bootstrap (Efron & Tibshirani, "An
 * Introduction to the Bootstrap", ch. 13) of the relative change of a
 * percentile, which `compare` shows beside its values. `check`'s own verdicts
 * (regression, ok, inconclusive) are in verdict.ts.
 */
import { deriveSeed, seededRandom, type Random } from '../util/random.js';
import { fieldName, HISTOGRAM_METRICS, type HistogramMetric } from '../metrics/catalog.js';
import { parsePercentile } from '../scenario/slo.js';
import type { CellKey } from '../types.js';
import { cellId, loadOfFields, type LoadFields } from '../util/load-level.js';

/** A compared metric: `ttft.p95=10%` → the p95 of per-request TTFT may worsen by up to 10%. */
export interface RegressionRule {
  /** `ttft.p95`, as written. */
  key: string;
  /** The requests.jsonl field the samples come from. */
  field: string;
  percentile: number;
  /** Throughputs: a drop is the regression. Latencies: a rise. */
  higherIsBetter: boolean;
  /** Allowed worsening, as a share (0.1 = 10%); for `errors.rate` and `slo.share`, in percentage points (0.01 = 1 point). */
  margin: number;
  /** `errors.rate`: failed (and dropped) requests over all, compared as an absolute difference of proportions. */
  errorRate?: true;
  /** `slo.share`: the share of measured requests that met every SLO of the scenario (a drop is the regression), in points. */
  sloShare?: true;
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

/**
 * Margins: 5% on a median, 10% on a tail percentile (which moves more from run
 * to run), 1 point on the error rate and 5 points on the share meeting the SLO
 * (`slo.share` is judged only where the scenario has an SLO).
 */
export const DEFAULT_MAX_REGRESSION =
  'ttft.p50=5%,ttft.p95=10%,tpot.p50=5%,tpot.p95=10%,decode_tokens_per_s.p50=5%,errors.rate=1%,slo.share=5%';

/** Parses `ttft.p95=10%,tpot.p99=5%,errors.rate=1%,slo.share=5%`; throws an Error naming the bad item. */
export function parseRegressionRules(text: string): RegressionRule[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item): RegressionRule => {
      const errors = /^errors\.rate=(\d+(?:\.\d+)?)%$/.exec(item);
      if (errors) return { key: 'errors.rate', field: '', percentile: NaN, higherIsBetter: false, margin: Number(errors[1]) / 100, errorRate: true };
      const slo = /^slo\.share=(\d+(?:\.\d+)?)%$/.exec(item);
      if (slo) return { key: 'slo.share', field: '', percentile: NaN, higherIsBetter: true, margin: Number(slo[1]) / 100, sloShare: true };
      const match = /^([a-z][a-z0-9_]*)\.(p[\d.]+)=(\d+(?:\.\d+)?)%$/.exec(item);
      const metric = match ? RULE_METRICS.get(match[1]!) : undefined;
      const percentile = match ? parsePercentile(match[2]!) : undefined;
      if (!match || !metric || percentile === undefined) {
        throw new Error(
          `--max-regression: "${item}" must be METRIC.pNN=N% (METRIC one of ${[...RULE_METRICS.keys()].join(', ')}; e.g. ttft.p95=10%), errors.rate=N% or slo.share=N%`,
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

/** A request as requests.jsonl has it (only the fields compared). */
export type RequestLine = Record<string, unknown> & LoadFields & { model: string; warmup: boolean; outcome: string };

/** One cell of a run: samples of each rule's field from its successful requests, and how many failed. */
export interface CellSamples {
  cell: CellKey;
  samples: Map<string, number[]>;
  /** Measured requests, interrupted ones left out (dropped ones in), and those that failed or were dropped. */
  requests: number;
  failed: number;
  /** Measured requests that met every SLO (`met_slo`), and whether the lines say so at all (a scenario with an SLO). */
  metSlo: number;
  sloJudged: boolean;
}

/** Whether a rule judges a share of requests (`errors.rate`, `slo.share`) rather than a percentile of a field. */
export const isProportionRule = (rule: RegressionRule): boolean => rule.errorRate === true || rule.sloShare === true;

/** The requests a proportion rule counts as bad in a cell: those that failed, or for `slo.share` those that missed the SLO. */
export const badCount = (rule: RegressionRule, cell: CellSamples): number => (rule.sloShare ? cell.requests - cell.metSlo : cell.failed);

/** An `slo.share` rule where a cell's lines carry no SLO (the scenario has none): nothing to judge. */
export const withoutSlo = (rule: RegressionRule, ...cells: CellSamples[]): boolean => rule.sloShare === true && cells.some((cell) => !cell.sloJudged);

/** Per-cell samples and failure counts, from the lines of one run (warm-up left out). */
export function samplesByCell(lines: readonly RequestLine[], rules: readonly RegressionRule[]): Map<string, CellSamples> {
  const cells = new Map<string, CellSamples>();
  // Each field once, however many rules read it (ttft.p50 and ttft.p95 share ttft_ms).
  const fields = new Set(rules.filter((rule) => !isProportionRule(rule)).map((rule) => rule.field));
  for (const line of lines) {
    if (line.warmup) continue;
    if ((line.error as { class?: string } | null | undefined)?.class === 'interrupted') continue; // Ctrl-C, not the server
    const cell = lineCell(line);
    const id = cellId(cell);
    let entry = cells.get(id);
    if (!entry) cells.set(id, (entry = { cell, samples: new Map(), requests: 0, failed: 0, metSlo: 0, sloJudged: false }));
    entry.requests++;
    if (typeof line.met_slo === 'boolean') entry.sloJudged = true;
    if (line.met_slo === true) entry.metSlo++;
    if (line.outcome !== 'ok') {
      entry.failed++;
      continue;
    }
    for (const field of fields) {
      const value = line[field];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      let list = entry.samples.get(field);
      if (!list) entry.samples.set(field, (list = []));
      list.push(value);
    }
  }
  return cells;
}

/** The cell a requests.jsonl line belongs to: its model and load level, a ramp's or a trace's included. */
export function lineCell(line: RequestLine): CellKey {
  return { model: line.model, load: loadOfFields(line) ?? { kind: 'concurrency', value: 0 } };
}
