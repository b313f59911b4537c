import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalOffsetsMs, rampOffsetsMs } from '../../src/load/arrivals.ts';
import { seededRandom } from '../../src/util/random.ts';

function take(generator: Generator<number>, n: number): number[] {
  const out: number[] = [];
  for (const value of generator) {
    out.push(value);
    if (out.length === n) break;
  }
  return out;
}

test('constant arrivals: arrival i is due at exactly i / rate', () => {
  const offsets = take(arrivalOffsetsMs('constant', 8, seededRandom(1)), 1001);
  assert.equal(offsets[0], 0);
  assert.equal(offsets[1], 125);
  assert.equal(offsets[1000], 125_000); // computed from the start, so no rounding error accumulates
});

test('poisson arrivals have the mean rate and the dispersion of a Poisson process, for a seed', () => {
  const rate = 50; // per second
  const offsets = take(arrivalOffsetsMs('poisson', rate, seededRandom(7)), 50_001);
  const gaps = offsets.slice(1).map((t, i) => t - offsets[i]!);
  const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - meanGap) ** 2, 0) / (gaps.length - 1));
  assert.ok(Math.abs(meanGap - 20) / 20 < 0.02, `mean gap ${meanGap} ms, expected 20`);
  // Exponential gaps: the coefficient of variation is 1.
  assert.ok(Math.abs(sd / meanGap - 1) < 0.03, `gap CV ${sd / meanGap}`);
  // Counts in 1 s windows: mean = rate, variance = mean (index of dispersion 1).
  const counts = new Array<number>(Math.floor(offsets.at(-1)! / 1000)).fill(0);
  for (const t of offsets) if (t < counts.length * 1000) counts[Math.floor(t / 1000)]!++;
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const variance = counts.reduce((a, c) => a + (c - mean) ** 2, 0) / (counts.length - 1);
  assert.ok(Math.abs(mean - rate) / rate < 0.02, `mean count ${mean} per s`);
  assert.ok(variance / mean > 0.85 && variance / mean < 1.15, `index of dispersion ${variance / mean}`);
});

test('the same seed gives the same poisson arrivals; another seed does not', () => {
  const a = take(arrivalOffsetsMs('poisson', 10, seededRandom(3)), 100);
  const b = take(arrivalOffsetsMs('poisson', 10, seededRandom(3)), 100);
  const c = take(arrivalOffsetsMs('poisson', 10, seededRandom(4)), 100);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

function gapStats(offsets: number[]): { meanGap: number; cv: number } {
  const gaps = offsets.slice(1).map((t, i) => t - offsets[i]!);
  const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - meanGap) ** 2, 0) / (gaps.length - 1));
  return { meanGap, cv: sd / meanGap };
}

for (const burstiness of [0.5, 1, 4]) {
  test(`gamma arrivals with burstiness ${burstiness}: mean gap 1/rate, coefficient of variation 1/√B, over 10,000 seeded draws`, () => {
    const rate = 20; // per second: a mean gap of 50 ms
    const { meanGap, cv } = gapStats(take(arrivalOffsetsMs('gamma', rate, seededRandom(11), burstiness), 10_001));
    assert.ok(Math.abs(meanGap - 50) / 50 < 0.02, `mean gap ${meanGap} ms, expected 50`);
    const expectedCv = 1 / Math.sqrt(burstiness);
    assert.ok(Math.abs(cv - expectedCv) / expectedCv < 0.03, `gap CV ${cv}, expected ${expectedCv}`);
  });
}

test('gamma arrivals with burstiness 1 disperse like poisson ones (CV ≈ 1 for both)', () => {
  const gamma = gapStats(take(arrivalOffsetsMs('gamma', 20, seededRandom(5), 1), 10_001));
  const poisson = gapStats(take(arrivalOffsetsMs('poisson', 20, seededRandom(5)), 10_001));
  assert.ok(Math.abs(gamma.cv - 1) < 0.03 && Math.abs(poisson.cv - 1) < 0.03, `gamma CV ${gamma.cv}, poisson CV ${poisson.cv}`);
});

test('the same seed gives the same gamma arrivals; another seed does not', () => {
  const a = take(arrivalOffsetsMs('gamma', 10, seededRandom(3), 0.25), 100);
  const b = take(arrivalOffsetsMs('gamma', 10, seededRandom(3), 0.25), 100);
  const c = take(arrivalOffsetsMs('gamma', 10, seededRandom(4), 0.25), 100);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((t, i) => i === 0 || t >= a[i - 1]!), 'offsets never go back');
});

/** Λ⁻¹(u) of a linear ramp, solved the textbook way (t = (−b + √(b² + 4au)) / 2a), seconds. */
function rampInverseS(fromRate: number, toRate: number, overS: number, u: number): number {
  const a = (toRate - fromRate) / (2 * overS);
  return a === 0 ? u / fromRate : (-fromRate + Math.sqrt(fromRate * fromRate + 4 * a * u)) / (2 * a);
}

test('a constant ramp: arrival i is due when the ramp’s cumulative rate reaches i, and (from + to)/2 × over arrive over it', () => {
  const offsets = [...rampOffsetsMs({ fromRate: 1, toRate: 20, overMs: 60_000 }, 'constant', seededRandom(1))];
  // (1 + 20) / 2 × 60 = 630 arrivals: i = 0 … 629 (arrival 630 would be due at the ramp's end itself).
  assert.equal(offsets.length, 630);
  offsets.forEach((offset, i) => assert.ok(Math.abs(offset - rampInverseS(1, 20, 60, i) * 1000) < 1e-6, `arrival ${i}: ${offset} ms`));
  assert.equal(offsets[0], 0);
  assert.equal(offsets[1], (2 / (1 + Math.sqrt(1 + 4 * (19 / 120)))) * 1000);
  // The instantaneous rate rises: gaps shrink from about 1 s to about 1/20 s.
  assert.ok(offsets[1]! > 850 && offsets[1]! < 1000);
  assert.ok(offsets[629]! - offsets[628]! < 51 && offsets[629]! - offsets[628]! > 49);
});

test('a falling ramp and a flat one arrive as often as their mean rate says, at the closed-form times', () => {
  const falling = [...rampOffsetsMs({ fromRate: 20, toRate: 4, overMs: 10_000 }, 'constant', seededRandom(1))];
  assert.equal(falling.length, 120); // (20 + 4) / 2 × 10
  falling.forEach((offset, i) => assert.ok(Math.abs(offset - rampInverseS(20, 4, 10, i) * 1000) < 1e-6));
  const flat = [...rampOffsetsMs({ fromRate: 8, toRate: 8, overMs: 2_000 }, 'constant', seededRandom(1))];
  assert.deepEqual(flat, take(arrivalOffsetsMs('constant', 8, seededRandom(1)), 16));
});

test('poisson and gamma ramps are the seeded unit-rate process time-rescaled through the ramp: the same draws, exactly', () => {
  for (const [arrival, burstiness] of [['poisson', 1], ['gamma', 0.5]] as const) {
    const ramp = { fromRate: 2, toRate: 30, overMs: 20_000 };
    const offsets = [...rampOffsetsMs(ramp, arrival, seededRandom(9), burstiness)];
    const unit = take(arrivalOffsetsMs(arrival, 1, seededRandom(9), burstiness), offsets.length + 1);
    offsets.forEach((offset, i) => assert.ok(Math.abs(offset - rampInverseS(2, 30, 20, unit[i]! / 1000) * 1000) < 1e-6, `${arrival} arrival ${i}`));
    // The next unit arrival is past the ramp's end: the cell ends there.
    assert.ok(rampInverseS(2, 30, 20, unit[offsets.length]! / 1000) >= 20);
    // About (2 + 30) / 2 × 20 = 320 of them.
    assert.ok(Math.abs(offsets.length - 320) < 80, `${offsets.length} ${arrival} arrivals`);
  }
});
