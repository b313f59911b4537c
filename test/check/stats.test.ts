import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hodgesLehmann, mannWhitney, newcombe, normalCdf, normalQuantile, studentQuantile, wilson } from '../../src/check/stats.ts';
import { seededRandom } from '../../src/util/random.ts';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not ${expected} ± ${tolerance}`);

test('the normal quantile and CDF agree with the tables and with each other', () => {
  close(normalQuantile(0.975), 1.959964, 1e-6, 'z 0.975');
  close(normalQuantile(0.95), 1.644854, 1e-6, 'z 0.95');
  close(normalQuantile(0.01), -2.326348, 1e-6, 'z 0.01');
  close(normalCdf(1.959964), 0.975, 1e-6, 'Φ(1.96)');
  for (const p of [0.001, 0.2, 0.5, 0.8, 0.999]) close(normalCdf(normalQuantile(p)), p, 1e-6, `Φ(Φ⁻¹(${p}))`);
});

test('Mann–Whitney: U counts the pairs the current sample wins, ties half; z and p as the normal approximation gives them', () => {
  assert.deepEqual(mannWhitney([1, 2, 3], [4, 5, 6]).u, 9);
  assert.equal(mannWhitney([1, 2, 3], [1, 2, 3]).u, 4.5);
  assert.equal(mannWhitney([1, 2, 3], [1, 2, 3]).z, 0);
  // 10 against 10, fully separated: U = 100, z = (100 − 50)/√(100·21/12) = 3.7796.
  const separated = mannWhitney(Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => 10 + i));
  close(separated.z, 3.779645, 1e-5, 'z');
  close(separated.p, 0.000157, 2e-6, 'p');
});

test('Hodges–Lehmann: the median pairwise difference, and the order statistics of the interval, as listing every difference gives them', () => {
  const random = seededRandom(5);
  for (const [n, m] of [[7, 9], [48, 48], [30, 200]] as const) {
    const a = Array.from({ length: n }, () => Math.round(random() * 1000) / 10);
    const b = Array.from({ length: m }, () => Math.round((random() * 1000 + 150) ) / 10);
    const differences = a.flatMap((x) => b.map((y) => y - x)).sort((x, y) => x - y);
    const total = differences.length;
    const median = total % 2 ? differences[(total - 1) / 2]! : (differences[total / 2 - 1]! + differences[total / 2]!) / 2;
    const c = Math.max(1, Math.floor(total / 2 - 1.959964 * Math.sqrt((total * (n + m + 1)) / 12)));
    const shift = hodgesLehmann(a, b);
    close(shift.estimate, median, 1e-9, `${n}×${m} estimate`);
    close(shift.interval[0], differences[c - 1]!, 1e-9, `${n}×${m} lower`);
    close(shift.interval[1], differences[total - c]!, 1e-9, `${n}×${m} upper`);
  }
  // A pure shift of 5 is found as 5.
  const base = Array.from({ length: 40 }, (_, i) => i * 1.5);
  const shifted = hodgesLehmann(base, base.map((x) => x + 5));
  close(shifted.estimate, 5, 1e-9, 'pure shift');
  assert.ok(shifted.interval[0] < 5 && shifted.interval[1] > 5);
});

test('Newcombe: 0 of 48 failed against 4 of 48 is at least +1.3 points with 95% confidence (one-sided), where the normal approximation fails', () => {
  const [l, u] = wilson(4, 48, 0.9);
  close(l, 0.03797, 1e-4, 'Wilson lower');
  close(u, 0.1731, 1e-3, 'Wilson upper');
  const difference = newcombe({ x: 0, n: 48 }, { x: 4, n: 48 }, 0.9);
  close(difference.estimate, 4 / 48, 1e-12, 'difference');
  close(difference.interval[0], 0.0133, 2e-4, 'one-sided 95% lower bound');
  assert.ok(difference.interval[0] > 0.01, 'beyond a 1-point margin: a regression');
  // The same rate twice: an interval around 0.
  const same = newcombe({ x: 2, n: 48 }, { x: 2, n: 48 });
  assert.ok(same.interval[0] < 0 && same.interval[1] > 0);
});

test("Student's t quantile matches the tables, also at the 1 to 3 degrees of freedom a few repeats give", () => {
  const table: [number, number, number][] = [
    [0.975, 1, 12.7062],
    [0.95, 1, 6.3138],
    [0.95, 2, 2.92],
    [0.975, 2, 4.3027],
    [0.95, 3, 2.3534],
    [0.975, 10, 2.2281],
    [0.95, 30, 1.6973],
    [0.05, 5, -2.015],
  ];
  for (const [p, df, t] of table) close(studentQuantile(p, df), t, 1e-3 * Math.abs(t), `t(${p}, ${df})`);
  // Fractional df (Welch): between its neighbours.
  const t15 = studentQuantile(0.95, 1.5);
  assert.ok(t15 < 6.3138 && t15 > 2.92, String(t15));
});
