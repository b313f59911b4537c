/**
 * Open-loop arrival schedules: offsets from the cell's start, ms. Each offset
 * is computed from the start, never from the previous timer's firing, so a
 * late timer never shifts the arrivals after it (no drift).
 */
import type { Arrival } from '../types.js';
import { drawGamma } from '../util/random.js';

/**
 * Arrival i is due at i / rate (constant); or after a sum of gaps of mean
 * 1 / rate drawn from `random` (uniform in [0, 1), seeded by the caller):
 * exponential gaps (poisson: a Poisson process of that rate), or gamma gaps
 * of shape `burstiness` B and scale 1 / (rate · B) (gamma, as vLLM's `bench
 * serve --burstiness`): their coefficient of variation is 1/√B, so B = 1 is
 * Poisson, B < 1 burstier, B > 1 more regular.
 */
export function* arrivalOffsetsMs(arrival: Arrival, ratePerS: number, random: () => number, burstiness = 1): Generator<number> {
  const meanGapMs = 1000 / ratePerS;
  if (arrival === 'constant') {
    for (let i = 0; ; i++) yield i * meanGapMs;
  }
  let offset = 0;
  for (;;) {
    yield offset;
    offset +=
      arrival === 'gamma'
        ? (drawGamma(burstiness, random) / burstiness) * meanGapMs
        : // Inverse-CDF draw of an exponential gap; 1 - u is in (0, 1], so the log is finite.
          -Math.log(1 - random()) * meanGapMs;
  }
}

/** A linear rate ramp: `fromRate` to `toRate` arrivals per second over `overMs`. */
export interface RampShape {
  fromRate: number;
  toRate: number;
  overMs: number;
}

/**
 * A rate ramp's arrivals, offsets in ms, ending with the ramp: the rate rises
 * (or falls) linearly, r(t) = from + (to − from)·t/T, so the expected count by
 * t is Λ(t) = from·t + (to − from)·t²/2T, and (from + to)/2 · T over the ramp.
 * The process of `arrival` at unit rate (constant: 0, 1, 2, …; poisson and
 * gamma: the same seeded draws as at any rate) is mapped through Λ⁻¹, the
 * time-rescaling of an inhomogeneous process (Çinlar 1975; Lewis and Shedler
 * 1979): constant arrival i is due when Λ reaches i. Λ⁻¹(u) is the root of
 * a·t² + from·t − u = 0 (a = (to − from)/2T), written 2u / (from + √(from² + 4au))
 * so that it holds for a flat ramp (a = 0) and a falling one alike.
 */
export function* rampOffsetsMs(ramp: RampShape, arrival: Arrival, random: () => number, burstiness = 1): Generator<number> {
  const overS = ramp.overMs / 1000;
  const a = (ramp.toRate - ramp.fromRate) / (2 * overS);
  const b = ramp.fromRate;
  for (const unitMs of arrivalOffsetsMs(arrival, 1, random, burstiness)) {
    const u = unitMs / 1000;
    // Past the ramp's end, b² + 4au < to² and the root is beyond T; clamped at 0 so a rounding error cannot make it NaN.
    const seconds = u === 0 ? 0 : (2 * u) / (b + Math.sqrt(Math.max(0, b * b + 4 * a * u)));
    if (!(seconds < overS)) return;
    yield seconds * 1000;
  }
}
