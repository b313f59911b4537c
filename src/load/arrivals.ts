/**
 * Open-loop arrival schedules: offsets from the cell's start, ms. Each offset
 * is computed from the start, never from the previous timer's firing, so a
 * late timer never shifts the arrivals after it (no drift).
 */
import type { Arrival } from '../types.js';

/**
 * Arrival i is due at i / rate (constant), or after a sum of exponential gaps
 * of mean 1 / rate (poisson: a Poisson process of that rate), drawn from
 * `random` (uniform in [0, 1), seeded by the caller).
 */
export function* arrivalOffsetsMs(arrival: Arrival, ratePerS: number, random: () => number): Generator<number> {
  const meanGapMs = 1000 / ratePerS;
  if (arrival === 'constant') {
    for (let i = 0; ; i++) yield i * meanGapMs;
  }
  let offset = 0;
  for (;;) {
    yield offset;
    // Inverse-CDF draw of an exponential gap; 1 - u is in (0, 1], so the log is finite.
    offset += -Math.log(1 - random()) * meanGapMs;
  }
}
