import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalOffsetsMs } from '../../src/load/arrivals.ts';
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
