/**
 * The statistics `check` and `compare` judge with (issue 15), each chosen for
 * what it judges:
 *
 * - A shift in a latency or throughput distribution: the Hodges–Lehmann
 *   estimate (the median of all differences between a current and a baseline
 *   sample) with its distribution-free interval from the Mann–Whitney
 *   statistic (Hollander & Wolfe, "Nonparametric Statistical Methods", 4.3).
 *   Rank-based: no assumption of normality, one slow outlier moves it little,
 *   and it uses every sample, where a bootstrap of p95 from 48 samples rests
 *   on the top three. On log values it is a relative shift (a ratio), which is
 *   how a slower server moves latencies.
 * - A difference of two proportions (error rates, the share meeting an SLO):
 *   Newcombe's hybrid score interval (Newcombe 1998, method 10), which stays
 *   honest at 0 of 48, where the normal approximation has zero width.
 *
 * Every function is exact arithmetic on the samples given: no resampling, no
 * seed.
 */

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
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

/** The standard normal CDF (Abramowitz & Stegun 7.1.26 on erf; absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface MannWhitney {
  /** U of the current sample: the pairs (baseline, current) in which the current value is larger, ties counting half. */
  u: number;
  /** U standardized, with the tie correction: positive when current values tend to be larger. */
  z: number;
  /** Two-sided p-value (normal approximation, fine from about 8 samples a side). */
  p: number;
}

/** The Mann–Whitney U test of `current` against `baseline`. */
export function mannWhitney(baseline: readonly number[], current: readonly number[]): MannWhitney {
  const n = baseline.length;
  const m = current.length;
  const all = [...baseline.map((value) => ({ value, current: false })), ...current.map((value) => ({ value, current: true }))].sort((x, y) => x.value - y.value);
  let rankSum = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.value === all[i]!.value) j++;
    const rank = (i + j) / 2 + 1; // mid-rank of the tied run i..j
    const size = j - i + 1;
    tieTerm += size ** 3 - size;
    for (let k = i; k <= j; k++) if (all[k]!.current) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (m * (m + 1)) / 2;
  const total = n + m;
  const variance = ((n * m) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  const z = variance > 0 ? (u - (n * m) / 2) / Math.sqrt(variance) : 0;
  return { u, z, p: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))) };
}

export interface Shift {
  /** The Hodges–Lehmann estimate: the median of every difference current − baseline. */
  estimate: number;
  /** Its distribution-free interval at the confidence asked (two-sided, or one-sided bounds read from it). */
  interval: [number, number];
}

/**
 * The shift of `current` against `baseline` (current − baseline) with its
 * `confidence` interval: the order statistics C and N+1−C of the N = n·m
 * pairwise differences, C from the Mann–Whitney statistic's normal
 * approximation. The differences are never listed: the k-th is found by
 * bisection on its value, each step counting the differences below it in
 * O(n + m) on the sorted samples, so 10,000 samples a side cost what 100 do.
 */
export function hodgesLehmann(baseline: readonly number[], current: readonly number[], confidence = 0.95): Shift {
  const a = Float64Array.from(baseline).sort();
  const b = Float64Array.from(current).sort();
  const n = a.length;
  const m = b.length;
  const total = n * m;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  // Hollander & Wolfe: C = n·m/2 − z·√(n·m·(n+m+1)/12), rounded down, at least 1.
  const c = Math.max(1, Math.floor(total / 2 - z * Math.sqrt((total * (n + m + 1)) / 12)));
  const median = total % 2 === 1 ? kthDifference(a, b, (total + 1) / 2) : (kthDifference(a, b, total / 2) + kthDifference(a, b, total / 2 + 1)) / 2;
  return { estimate: median, interval: [kthDifference(a, b, c), kthDifference(a, b, total + 1 - c)] };
}

/** How many differences b[j] − a[i] are ≤ d (a and b sorted). */
function differencesAtMost(a: Float64Array, b: Float64Array, d: number): number {
  let count = 0;
  // For each b[j] ascending, the a[i] with b[j] − a[i] ≤ d are those a[i] ≥ b[j] − d: a suffix that shrinks.
  let start = 0;
  for (let j = 0; j < b.length; j++) {
    while (start < a.length && a[start]! < b[j]! - d) start++;
    count += a.length - start;
  }
  return count;
}

/** The k-th smallest (1-based) of the differences b[j] − a[i], to the last bit that bisection can tell. */
function kthDifference(a: Float64Array, b: Float64Array, k: number): number {
  let lo = b[0]! - a[a.length - 1]!; // the smallest difference: count ≥ 1
  let hi = b[b.length - 1]! - a[0]!; // the largest: count = n·m ≥ k
  if (differencesAtMost(a, b, lo) >= k) return lo;
  // Invariant: count(lo) < k ≤ count(hi).
  for (let step = 0; step < 200 && hi - lo > Math.abs(hi) * 1e-12 + 1e-12; step++) {
    const mid = lo + (hi - lo) / 2;
    if (differencesAtMost(a, b, mid) >= k) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The Wilson score interval of x successes in n, at the two-sided confidence asked. */
export function wilson(x: number, n: number, confidence = 0.95): [number, number] {
  if (n === 0) return [0, 1];
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = x / n;
  const z2n = (z * z) / n;
  const center = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/**
 * The difference of two proportions, current − baseline (x₁ of n₁ against
 * x₀ of n₀), with Newcombe's hybrid score interval at the two-sided
 * confidence asked: a one-sided 95% bound is one end of the 90% interval.
 */
export function newcombe(baseline: { x: number; n: number }, current: { x: number; n: number }, confidence = 0.95): Shift {
  const p0 = baseline.n > 0 ? baseline.x / baseline.n : 0;
  const p1 = current.n > 0 ? current.x / current.n : 0;
  const [l0, u0] = wilson(baseline.x, baseline.n, confidence);
  const [l1, u1] = wilson(current.x, current.n, confidence);
  const d = p1 - p0;
  return { estimate: d, interval: [d - Math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)] };
}

/**
 * The quantile of Student's t with `df` degrees of freedom (fractional, as
 * Welch's gives): bisection on its CDF, exact to 1e-10. With a few repeats df is
 * 1 to 4, where series approximations are 10% off.
 */
export function studentQuantile(p: number, df: number): number {
  if (!(df < 1e6)) return normalQuantile(p);
  let lo = -1;
  let hi = 1;
  while (studentCdf(lo, df) > p) lo *= 2;
  while (studentCdf(hi, df) < p) hi *= 2;
  for (let step = 0; step < 200 && hi - lo > 1e-10 * Math.max(1, Math.abs(hi)); step++) {
    const mid = (lo + hi) / 2;
    if (studentCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Student's t CDF: 1 − I_{df/(df+t²)}(df/2, 1/2) / 2 for t ≥ 0, by symmetry below. */
export function studentCdf(t: number, df: number): number {
  const tail = incompleteBeta(df / (df + t * t), df / 2, 0.5) / 2;
  return t >= 0 ? 1 - tail : tail;
}

/** The regularized incomplete beta function I_x(a, b) (Numerical Recipes 6.4: its continued fraction, by Lentz). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast for x < (a+1)/(a+b+2); otherwise use I_x(a,b) = 1 − I_{1−x}(b,a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 300; m++) {
    for (const numerator of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return (front * f) / a;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: 15 digits). */
function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = g[0]!;
  for (let i = 1; i < 9; i++) sum += g[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * The ranks (1-based) of the order statistics that bound the `quantile` (0..1)
 * of n samples with two-sided `confidence`, distribution-free: the number of
 * samples below the true quantile is Binomial(n, quantile), here by its normal
 * approximation. Undefined when a bound would fall outside the sample: the
 * sample is too small to bound that quantile at all (48 requests cannot bound
 * their p95 at 95%).
 */
export function quantileRanks(n: number, quantile: number, confidence = 0.95): [number, number] | undefined {
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const spread = z * Math.sqrt(n * quantile * (1 - quantile));
  const lower = Math.floor(n * quantile - spread);
  const upper = Math.ceil(n * quantile + spread);
  return lower >= 1 && upper <= n ? [lower, upper] : undefined;
}

/** The fewest samples for which quantileRanks gives a bound on both sides. */
export function fewestSamplesToBound(quantile: number, confidence = 0.95): number {
  let n = 2;
  while (n < 1_000_000 && quantileRanks(n, quantile, confidence) === undefined) n++;
  return n;
}

/**
 * The standard error of log(quantile) of the samples, from the width of its
 * distribution-free interval (Price & Bonett 2002 estimate the variance of a
 * sample quantile this way, with no density to guess): (log x₍ᵤ₎ − log x₍ₗ₎) / (2·z).
 * Undefined when the sample cannot bound the quantile.
 */
export function logQuantileError(sortedPositive: ArrayLike<number>, quantile: number): number | undefined {
  const ranks = quantileRanks(sortedPositive.length, quantile, 0.95);
  if (!ranks) return undefined;
  return (Math.log(sortedPositive[ranks[1] - 1]!) - Math.log(sortedPositive[ranks[0] - 1]!)) / (2 * normalQuantile(0.975));
}

/** P(X = k) for X ~ Binomial(n, p), by logarithms (no overflow at n = 10,000). */
function binomialPmf(k: number, n: number, p: number): number {
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  let logChoose = 0;
  for (let i = 1; i <= k; i++) logChoose += Math.log(n - k + i) - Math.log(i);
  return Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log(1 - p));
}

/**
 * The probability that x of n, drawn at the true rate `p`, satisfies `accept(x)`:
 * an exact sum over the binomial distribution, for the power of a proportion's
 * verdict (where a normal approximation misleads near 0%).
 */
export function binomialProbability(n: number, p: number, accept: (x: number) => boolean): number {
  let total = 0;
  // The terms far from n·p are negligible: sum within 10 standard deviations (and the edges).
  const sd = Math.sqrt(n * p * (1 - p));
  const from = Math.max(0, Math.floor(n * p - 10 * sd - 5));
  const to = Math.min(n, Math.ceil(n * p + 10 * sd + 5));
  for (let x = from; x <= to; x++) if (accept(x)) total += binomialPmf(x, n, p);
  return total;
}
