/**
 * `check`'s verdict on each rule × cell: **regression** (the one-sided bound
 * of the worsening lies beyond the margin: worse than allowed and beyond the
 * noise), **ok** (the other bound lies within the margin: a regression beyond
 * it is excluded), or **inconclusive** (the interval holds the margin: too
 * wide to tell), with the smallest worsening this sample size detects and the
 * requests per cell that would resolve it. The test fits the metric:
 *
 * - p50 of a latency or throughput: a location shift, Hodges–Lehmann on log
 *   values (a relative shift) with its Mann–Whitney interval. Rank-based, it
 *   uses every sample.
 * - any other percentile (p95): the difference of the two log percentiles,
 *   each with the standard error its distribution-free order-statistic
 *   interval gives (Price & Bonett). A sample that cannot bound the percentile
 *   (48 requests cannot bound their p95) gives no interval: inconclusive, with
 *   the size that can.
 * - `errors.rate`, `slo.share`: Newcombe's hybrid score interval of the
 *   difference of proportions, in points.
 * - runs with `--repeat` on both sides: each repeat is one observation of
 *   the statistic (requests within a run are correlated: they share the
 *   run's machine state), so the interval is at least as wide as the spread
 *   between repeats gives (Welch, Student's t), never narrower than within.
 *
 * Pure: lines in, verdicts out. A bound is one-sided at `confidence` (0.95);
 * the interval shown is both bounds, the two-sided (2·confidence − 1) interval.
 */
import type { CellKey } from '../types.js';
import { badCount, isProportionRule, percentileOf, samplesByCell, withoutSlo, type CellSamples, type Comparison, type RegressionRule, type RequestLine } from './baseline.js';
import { fewestSamplesToBound, hodgesLehmann, logQuantileError, newcombe, normalQuantile, studentQuantile } from './stats.js';

export type Outcome = 'regression' | 'ok' | 'inconclusive';

/** Power the detectable effect and the sizes are computed for. */
export const POWER = 0.95;

/**
 * One rule judged in one cell: a Comparison's values (for a proportion rule, the proportions
 * 0..1 and a worsening in points; `interval` is its one-sided bounds at the confidence asked),
 * with a three-way outcome in place of its yes/no `regression`.
 */
export interface RuleVerdict extends Omit<Comparison, 'regression'> {
  outcome: Outcome;
  /** The test used. */
  method: 'hodges-lehmann' | 'quantile' | 'newcombe';
  /** Repeats on each side when the between-repeat spread was used. */
  repeats?: { baseline: number; current: number };
  samples: { baseline: number; current: number };
  /** The smallest worsening flagged with 95% power at this sample size (same units as `worsening`). */
  detectable?: number;
  /** Requests per cell (each side) that would resolve an inconclusive verdict at the observed worsening. */
  needed?: number;
  /** Why the verdict is inconclusive beyond a wide interval: a cell invalid or short, too few samples. */
  reason?: string;
}

/** A judged estimate: worsening with its standard error, in the space the test works in. */
interface Estimate {
  worsening: number;
  interval?: [number, number];
  /** Standard error of the worsening (for the detectable effect), where known. */
  error?: number;
  /** Fewest samples per side for an interval, when there was none. */
  fewest?: number;
}

/**
 * The worsening of a percentile rule, computed in log space: a log shift s is
 * exp(s) − 1 slower for a latency and 1 − exp(s) slower for a throughput.
 */
const worseningOfLogShift = (rule: RegressionRule, shift: number): number => (rule.higherIsBetter ? 1 - Math.exp(shift) : Math.exp(shift) - 1);
export const logShiftOfWorsening = (rule: RegressionRule, worsening: number): number => (rule.higherIsBetter ? Math.log(1 - worsening) : Math.log(1 + worsening));

/** Log values, dropping the non-positive (a latency of 0 has no ratio). */
const logsOf = (values: readonly number[]): number[] => values.filter((v) => v > 0).map(Math.log);

/** The log shift (current against baseline) of a percentile rule and its standard error, from the requests alone. */
function logShift(rule: RegressionRule, baseline: readonly number[], current: readonly number[], confidence: number): { shift: number; error?: number; fewest?: number } {
  if (rule.percentile === 50) {
    const { estimate, interval } = hodgesLehmann(logsOf(baseline), logsOf(current), 2 * confidence - 1);
    return { shift: estimate, error: (interval[1] - interval[0]) / (2 * normalQuantile(confidence)) };
  }
  const a = Float64Array.from(baseline.filter((v) => v > 0)).sort();
  const b = Float64Array.from(current.filter((v) => v > 0)).sort();
  const shift = Math.log(percentileOf(b, rule.percentile)) - Math.log(percentileOf(a, rule.percentile));
  const errorA = logQuantileError(a, rule.percentile / 100);
  const errorB = logQuantileError(b, rule.percentile / 100);
  if (errorA === undefined || errorB === undefined) return { shift, fewest: fewestSamplesToBound(rule.percentile / 100) };
  return { shift, error: Math.hypot(errorA, errorB) };
}

/** The log statistic of one repeat's samples: its median for a location rule, its percentile otherwise. */
const repeatStatistic = (rule: RegressionRule, values: readonly number[]): number =>
  Math.log(percentileOf(Float64Array.from(values.filter((v) => v > 0)).sort(), rule.percentile));

/**
 * The half-width of the log shift's interval from the repeats' spread (Welch:
 * each repeat one observation), or undefined with fewer than two repeats a side.
 */
function betweenRepeats(rule: RegressionRule, baseline: readonly number[][], current: readonly number[][], confidence: number): { half: number; error: number } | undefined {
  if (baseline.length < 2 || current.length < 2) return undefined;
  const stats = (side: readonly number[][]) => {
    const values = side.map((values) => repeatStatistic(rule, values));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
    return { term: variance / values.length, df: values.length - 1 };
  };
  const a = stats(baseline);
  const b = stats(current);
  const error = Math.sqrt(a.term + b.term);
  // Welch–Satterthwaite degrees of freedom (the smaller side's when both spreads are 0).
  const df = error > 0 ? (a.term + b.term) ** 2 / (a.term ** 2 / a.df + b.term ** 2 / b.df) : Math.min(a.df, b.df);
  return { half: studentQuantile(confidence, df) * error, error };
}

/** A percentile rule's worsening and one-sided bounds, within-run and (with repeats) between-run noise both counted. */
function judgePercentile(rule: RegressionRule, base: CellSamples, now: CellSamples, confidence: number, repeats?: { baseline: number[][]; current: number[][] }): Estimate {
  const b = base.samples.get(rule.field) ?? [];
  const c = now.samples.get(rule.field) ?? [];
  const within = logShift(rule, b, c, confidence);
  const worsening = worseningOfLogShift(rule, within.shift);
  const between = repeats ? betweenRepeats(rule, repeats.baseline, repeats.current, confidence) : undefined;
  if (within.error === undefined && !between) return { worsening, ...(within.fewest !== undefined ? { fewest: within.fewest } : {}) };
  const half = Math.max(within.error === undefined ? 0 : normalQuantile(confidence) * within.error, between?.half ?? 0);
  const error = Math.max(within.error ?? 0, between?.error ?? 0);
  const ends = [worseningOfLogShift(rule, within.shift - half), worseningOfLogShift(rule, within.shift + half)].sort((x, y) => x - y) as [number, number];
  return { worsening, interval: ends, error };
}

/** A proportion rule's worsening in points: the error rate's rise, or the SLO share's drop. */
function judgeProportion(rule: RegressionRule, base: CellSamples, now: CellSamples, confidence: number): Estimate {
  const count = (cell: CellSamples) => ({ x: badCount(rule, cell), n: cell.requests });
  // Both as a rise of the share that did badly (failed, or missed the SLO).
  const { estimate, interval } = newcombe(count(base), count(now), 2 * confidence - 1);
  return { worsening: estimate, interval, error: (interval[1] - interval[0]) / (2 * normalQuantile(confidence)) };
}

/** The outcome of an estimate against its margin, with the detectable effect and the size that would resolve it. */
function outcomeOf(rule: RegressionRule, estimate: Estimate, samples: number, confidence: number): Pick<RuleVerdict, 'outcome' | 'improvement' | 'detectable' | 'needed' | 'reason'> {
  const { interval } = estimate;
  if (!interval) {
    return {
      outcome: 'inconclusive',
      improvement: false,
      ...(estimate.fewest !== undefined ? { needed: estimate.fewest } : {}),
      reason: `${samples} requests cannot bound a p${rule.percentile}: it needs at least ${estimate.fewest} a side`,
    };
  }
  const outcome: Outcome = interval[0] > rule.margin ? 'regression' : interval[1] < rule.margin ? 'ok' : 'inconclusive';
  const improvement = interval[1] < -rule.margin;
  if (outcome !== 'inconclusive' || estimate.error === undefined) return { outcome, improvement };
  const proportion = isProportionRule(rule);
  // Detectable at 95% power: the one-sided bound clears the margin 95% of the time.
  const reach = (normalQuantile(confidence) + normalQuantile(POWER)) * estimate.error;
  const detectable = proportion ? rule.margin + reach : worseningOfLogShift(rule, logShiftOfWorsening(rule, rule.margin) + (rule.higherIsBetter ? -reach : reach));
  // The interval's half-width shrinks as 1/√n: the size at which it no longer holds the margin at the observed worsening.
  const half = normalQuantile(confidence) * estimate.error;
  const gap = proportion
    ? Math.abs(estimate.worsening - rule.margin)
    : Math.abs(logShiftOfWorsening(rule, Math.max(-0.99, Math.min(0.99, estimate.worsening))) - logShiftOfWorsening(rule, rule.margin));
  const needed = gap > 0 ? Math.ceil(samples * (half / gap) ** 2) : Infinity;
  return { outcome, improvement, detectable, needed };
}

/** What makes a cell unfit for an "ok": its summary's invalid or short reason, per side. */
export type CellFlaws = Map<string, string>;

/** The lines of each repeat of a run (its `repeat` field), or undefined for a run without repeats. */
function repeatsOf(lines: readonly RequestLine[]): Map<number, RequestLine[]> | undefined {
  const groups = new Map<number, RequestLine[]>();
  for (const line of lines) {
    if (typeof line.repeat !== 'number') continue;
    const group = groups.get(line.repeat);
    if (group) group.push(line);
    else groups.set(line.repeat, [line]);
  }
  return groups.size >= 2 ? groups : undefined;
}

/**
 * Every rule for every cell of the baseline. A baseline cell this run did not
 * produce is `missing` (the build could not run it); cells only this run has
 * are listed apart. `flaws` (by cellId) turn an "ok" into "inconclusive": a
 * cell the client stalled in, or whose window was short, cannot vouch for the
 * server. `repeated` says which sides have two repeats or more: their spread
 * counts only when both do.
 */
export function judgeRuns(
  baselineLines: readonly RequestLine[],
  currentLines: readonly RequestLine[],
  rules: readonly RegressionRule[],
  options: { confidence?: number; flaws?: CellFlaws } = {},
): { verdicts: RuleVerdict[]; missing: CellKey[]; onlyInCurrent: CellKey[]; repeated: { baseline: boolean; current: boolean } } {
  const confidence = options.confidence ?? 0.95;
  const baseline = samplesByCell(baselineLines, rules);
  const current = samplesByCell(currentLines, rules);
  const baselineRepeats = repeatsOf(baselineLines);
  const currentRepeats = repeatsOf(currentLines);
  // Per repeat, per cell: samples of each field, so a rule can take one statistic per repeat (only when both sides have repeats).
  const perRepeat = (groups: Map<number, RequestLine[]>) => [...groups.values()].map((lines) => samplesByCell(lines, rules));
  const byRepeat = baselineRepeats && currentRepeats ? { baseline: perRepeat(baselineRepeats), current: perRepeat(currentRepeats) } : undefined;
  const verdicts: RuleVerdict[] = [];
  for (const [id, base] of baseline) {
    const now = current.get(id);
    if (!now) continue;
    for (const rule of rules) {
      if (withoutSlo(rule, base, now)) continue; // no SLO in the scenario: nothing to judge
      let estimate: Estimate;
      let method: RuleVerdict['method'];
      let repeats: RuleVerdict['repeats'];
      let values: { baseline: number; current: number };
      if (isProportionRule(rule)) {
        estimate = judgeProportion(rule, base, now, confidence);
        method = 'newcombe';
        const share = (cell: CellSamples) => (cell.requests === 0 ? 0 : (rule.sloShare ? cell.metSlo : cell.failed) / cell.requests);
        values = { baseline: share(base), current: share(now) };
      } else {
        const b = base.samples.get(rule.field) ?? [];
        const c = now.samples.get(rule.field) ?? [];
        if (b.length === 0) continue; // nothing to hold this run to (no TPOT in one-token replies)
        if (c.length === 0) {
          // The baseline had the metric and this run has none (no request succeeded): bad data never passes.
          verdicts.push({
            cell: now.cell,
            rule,
            baseline: percentileOf(Float64Array.from(b).sort(), rule.percentile),
            current: NaN,
            worsening: NaN,
            outcome: 'inconclusive',
            improvement: false,
            method: rule.percentile === 50 ? 'hodges-lehmann' : 'quantile',
            samples: { baseline: base.requests, current: now.requests },
            reason: `no ${rule.field} in this run's cell (no request succeeded, or none had it): nothing to judge`,
          });
          continue;
        }
        const sides = (repeats: Map<string, CellSamples>[]) => repeats.map((cells) => cells.get(id)?.samples.get(rule.field) ?? []).filter((values) => values.length > 0);
        const repeatSamples = byRepeat ? { baseline: sides(byRepeat.baseline), current: sides(byRepeat.current) } : undefined;
        estimate = judgePercentile(rule, base, now, confidence, repeatSamples);
        method = rule.percentile === 50 ? 'hodges-lehmann' : 'quantile';
        if (repeatSamples && repeatSamples.baseline.length >= 2 && repeatSamples.current.length >= 2) {
          repeats = { baseline: repeatSamples.baseline.length, current: repeatSamples.current.length };
        }
        values = { baseline: percentileOf(Float64Array.from(b).sort(), rule.percentile), current: percentileOf(Float64Array.from(c).sort(), rule.percentile) };
      }
      const samples = { baseline: base.requests, current: now.requests };
      const judged = outcomeOf(rule, estimate, Math.min(samples.baseline, samples.current), confidence);
      const flaw = options.flaws?.get(id);
      const verdict: RuleVerdict = {
        cell: now.cell,
        rule,
        ...values,
        worsening: estimate.worsening,
        ...(estimate.interval ? { interval: estimate.interval } : {}),
        ...judged,
        method,
        ...(repeats ? { repeats } : {}),
        samples,
      };
      // Bad data never vouches for the server: at best inconclusive, with the reason.
      if (flaw !== undefined && verdict.outcome !== 'regression') {
        verdict.outcome = 'inconclusive';
        verdict.improvement = false;
        verdict.reason = verdict.reason === undefined ? flaw : `${flaw}; ${verdict.reason}`;
      }
      verdicts.push(verdict);
    }
  }
  return {
    verdicts,
    missing: [...baseline.entries()].filter(([id]) => !current.has(id)).map(([, v]) => v.cell),
    onlyInCurrent: [...current.entries()].filter(([id]) => !baseline.has(id)).map(([, v]) => v.cell),
    repeated: { baseline: baselineRepeats !== undefined, current: currentRepeats !== undefined },
  };
}
