/**
 * `check --plan BASELINE`: how many requests per cell a check needs, from the
 * baseline's own spread, so that with 95% power each rule both flags a
 * worsening of twice its margin (10% on a p50 with a 5% margin) and calls the
 * same build "ok". The verdicts are verdict.ts's, so the sizes are theirs:
 *
 * - a percentile's interval shrinks as 1/√n, so from the standard error at the
 *   baseline's size n₀ (Hodges–Lehmann of the baseline against itself for a
 *   p50; the order-statistic interval for another percentile) the size is
 *   n₀·((z₁₋α + z_power)·se₀ / distance)², where distance is the log distance
 *   from the margin to twice it (to flag) and from 0 to the margin (to pass);
 * - a proportion's size is found by exact binomial sums over Newcombe's bound
 *   at the baseline's own rate (a normal approximation misleads near 0%).
 *
 * Pure: lines in, rows out.
 */
import type { CellKey } from '../types.js';
import { badCount, isProportionRule, samplesByCell, withoutSlo, type RegressionRule, type RequestLine } from './baseline.js';
import { binomialProbability, fewestSamplesToBound, hodgesLehmann, logQuantileError, newcombe, normalQuantile } from './stats.js';
import { logShiftOfWorsening, POWER } from './verdict.js';

export interface PlanRow {
  cell: CellKey;
  rule: RegressionRule;
  /** Measured requests of the cell in the baseline. */
  baselineRequests: number;
  /** The worsening to detect: twice the margin. */
  effect: number;
  /** Requests per cell (in the baseline and in each checked run) for 95% power; undefined when not computable. */
  needed?: number;
  /** What the size rests on, when it is a floor rather than a size. */
  note?: string;
}

/** Sizes beyond this are reported as "more than": a check that needs them is not a CI gate. */
const MOST = 100_000;

/** Requests per cell for a percentile rule, from the baseline's samples of its field. */
function percentileSize(rule: RegressionRule, samples: readonly number[], confidence: number): Pick<PlanRow, 'needed' | 'note'> {
  const positive = samples.filter((v) => v > 0);
  const n0 = positive.length;
  const quantile = rule.percentile / 100;
  let error: number | undefined;
  let fewest = 2;
  if (rule.percentile === 50) {
    fewest = 16;
    // The baseline's two interleaved halves, against each other: a sample against itself pairs every value
    // with itself too, n zero differences that make its interval (and the plan) about 12% too small.
    const logs = positive.map(Math.log);
    const halves = [logs.filter((_, i) => i % 2 === 0), logs.filter((_, i) => i % 2 === 1)] as const;
    if (halves[1].length >= fewest / 2) {
      const { interval } = hodgesLehmann(halves[0], halves[1], 2 * confidence - 1);
      // Each half holds n₀/2 requests: n₀ against n₀ has √2 times less error.
      error = (interval[1] - interval[0]) / (2 * normalQuantile(confidence)) / Math.SQRT2;
    }
  } else {
    fewest = fewestSamplesToBound(quantile);
    const one = logQuantileError(Float64Array.from(positive).sort(), quantile);
    // Two independent runs of the same spread: √2 times one run's error.
    if (one !== undefined) error = Math.SQRT2 * one;
  }
  if (error === undefined) return { needed: fewest, note: `at least: ${n0} baseline requests cannot bound a p${rule.percentile}, so its spread is unknown; record ${fewest} or more and plan again` };
  const distance = Math.min(
    Math.abs(logShiftOfWorsening(rule, 2 * rule.margin) - logShiftOfWorsening(rule, rule.margin)),
    Math.abs(logShiftOfWorsening(rule, rule.margin)),
  );
  const reach = normalQuantile(confidence) + normalQuantile(POWER);
  return { needed: Math.min(MOST, Math.max(fewest, Math.ceil(n0 * ((reach * error) / distance) ** 2))) };
}

/**
 * Requests per cell for a proportion rule (failed, or missed the SLO): the
 * smallest n at which, with the baseline's rate p₀ on both sides, the check
 * says "ok" 95% of the time, and with p₀ + 2·margin says "regression" 95% of
 * the time.
 */
export function proportionSize(rate: number, margin: number, confidence: number): number | undefined {
  const level = 2 * confidence - 1;
  const worse = Math.min(1, rate + 2 * margin);
  const enough = (n: number): boolean => {
    const x0 = Math.round(rate * n);
    const passes = binomialProbability(n, rate, (x) => newcombe({ x: x0, n }, { x, n }, level).interval[1] < margin);
    const flags = binomialProbability(n, worse, (x) => newcombe({ x: x0, n }, { x, n }, level).interval[0] > margin);
    return passes >= POWER && flags >= POWER;
  };
  // The sums are not quite monotone in n (counts are whole numbers): double, then bisect, then step to the first n that holds.
  let high = 8;
  while (high <= MOST && !enough(high)) high *= 2;
  if (high > MOST) return undefined;
  let low = high / 2;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (enough(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** Every rule in every cell of the baseline, with the requests per cell it needs. */
export function planSizes(lines: readonly RequestLine[], rules: readonly RegressionRule[], confidence = 0.95): PlanRow[] {
  const rows: PlanRow[] = [];
  for (const cell of samplesByCell(lines, rules).values()) {
    for (const rule of rules) {
      const base = { cell: cell.cell, rule, baselineRequests: cell.requests, effect: 2 * rule.margin };
      if (isProportionRule(rule)) {
        if (withoutSlo(rule, cell)) continue; // no SLO in the scenario: nothing to plan
        const needed = proportionSize(cell.requests > 0 ? badCount(rule, cell) / cell.requests : 0, rule.margin, confidence);
        rows.push({ ...base, ...(needed !== undefined ? { needed } : { note: `more than ${MOST}` }) });
        continue;
      }
      const samples = cell.samples.get(rule.field) ?? [];
      if (samples.length === 0) continue;
      rows.push({ ...base, ...percentileSize(rule, samples, confidence) });
    }
  }
  return rows;
}
