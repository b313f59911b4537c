import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  percentileDistribution,
  recordValue,
  statsOf,
} from '../../src/metrics/histograms.ts';

test('times are recorded in µs at 3 significant digits and reported in ms', () => {
  const histogram = createHistogram();
  for (let ms = 1; ms <= 100; ms++) recordValue(histogram, 'ttft', ms);
  const stats = statsOf(histogram, 'ttft')!;
  assert.equal(stats.count, 100);
  assert.ok(Math.abs(stats.p50 - 50) <= 0.05, `p50 ${stats.p50}`);
  assert.ok(Math.abs(stats.p99 - 99) <= 0.1, `p99 ${stats.p99}`);
  assert.ok(Math.abs(stats.max - 100) <= 0.1, `max ${stats.max}`);
  assert.ok(Math.abs(stats.mean - 50.5) <= 0.05, `mean ${stats.mean}`);
  assert.equal(statsOf(createHistogram(), 'ttft'), undefined);
});

test('recording with a count weights the value (per-token ITL)', () => {
  const histogram = createHistogram();
  recordValue(histogram, 'itl', 2, 3);
  recordValue(histogram, 'itl', 10);
  const stats = statsOf(histogram, 'itl')!;
  assert.equal(stats.count, 4);
  assert.ok(Math.abs(stats.mean - 4) < 0.01);
});

test('the compressed base64 encoding round-trips losslessly and merges exactly', () => {
  const a = createHistogram();
  const b = createHistogram();
  for (let i = 0; i < 1000; i++) recordValue(a, 'e2e', 100 + i * 0.37);
  for (let i = 0; i < 500; i++) recordValue(b, 'e2e', 2000 + i * 1.3);
  const decodedA = decodeHistogram(encodeHistogram(a));
  assert.equal(decodedA.totalCount, a.totalCount);
  for (const p of [0, 50, 90, 99, 99.9, 100]) assert.equal(decodedA.getValueAtPercentile(p), a.getValueAtPercentile(p));
  const merged = decodeHistogram(encodeHistogram(a));
  merged.add(decodeHistogram(encodeHistogram(b)));
  const direct = createHistogram();
  direct.add(a);
  direct.add(b);
  assert.equal(merged.totalCount, 1500);
  for (const p of [10, 50, 66.6, 99]) assert.equal(merged.getValueAtPercentile(p), direct.getValueAtPercentile(p));
});

test('the percentile distribution is HdrHistogram’s, in the metric’s unit', () => {
  const histogram = createHistogram();
  for (let i = 1; i <= 10; i++) recordValue(histogram, 'tokens_per_chunk', i);
  const rows = percentileDistribution(histogram, 'tokens_per_chunk');
  assert.equal(rows[0]!.value, 1);
  assert.equal(rows.at(-1)!.value, 10);
  assert.equal(rows.at(-1)!.percentile, 1);
  assert.equal(rows.at(-1)!.totalCount, 10);
  assert.equal(rows.at(-1)!.inversePercentile, Infinity);
  assert.deepEqual(percentileDistribution(createHistogram(), 'ttft'), []);
});

test('percentiles never lie beyond what was recorded: the bucket top is clamped to [min, max]', () => {
  const histogram = createHistogram();
  // 5,003 µs is the top of 5,000's bucket at 3 significant digits: unclamped, p99 read 5.003 ms with max 5.
  for (let i = 0; i < 10; i++) recordValue(histogram, 'itl', 5);
  const stats = statsOf(histogram, 'itl')!;
  assert.equal(stats.max, 5);
  assert.equal(stats.min, 5);
  assert.deepEqual([stats.p50, stats.p90, stats.p95, stats.p99, stats.p999], [5, 5, 5, 5, 5]);
  const spread = createHistogram();
  for (const ms of [1.2345, 7, 9.8765]) recordValue(spread, 'ttft', ms);
  const s = statsOf(spread, 'ttft')!;
  assert.ok(s.p99 <= s.max && s.p50 >= s.min, JSON.stringify(s));
  assert.equal(s.p99, s.max);
});
