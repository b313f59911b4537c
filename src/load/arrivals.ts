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
