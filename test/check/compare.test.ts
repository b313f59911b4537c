import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareContenders } from '../../src/check/compare.ts';
import { ALPHA, BETA, cellSummary } from '../report/fixture.ts';

test('side by side: the rows, their units and which way is better', () => {
  const comparison = compareContenders([
    { name: 'a', cells: [cellSummary(ALPHA, 4)], lines: [] },
    { name: 'b', cells: [cellSummary(BETA, 4)], lines: [] },
  ]);
  assert.deepEqual(
    comparison.levels[0]!.rows.map((row) => [row.metric, row.unit, row.higherIsBetter]),
    [
      ['TTFT p50', 'ms', false],
      ['TTFT p95', 'ms', false],
      ['TTFT p99', 'ms', false],
      ['TPOT p50', 'ms', false],
      ['TPOT p95', 'ms', false],
      ['ITL p50', 'ms', false],
      ['ITL p99', 'ms', false],
      ['E2E p50', 'ms', false],
      ['E2E p95', 'ms', false],
      ['E2E p99', 'ms', false],
      ['output tok/s', 'tokens/s', true],
      ['goodput', 'req/s', true],
      ['error rate', '%', false],
    ],
  );
});

test('side by side: the lower latency and the higher throughput are marked best, each difference taken to the first contender', () => {
  const alpha = cellSummary(ALPHA, 4);
  const beta = cellSummary(BETA, 4);
  const [level] = compareContenders([
    { name: 'a', cells: [alpha], lines: [] },
    { name: 'b', cells: [beta], lines: [] },
  ]).levels;
  const row = (metric: string) => level!.rows.find((r) => r.metric === metric)!;
  assert.deepEqual(row('TTFT p95').values.map((v) => v?.best), [true, false]);
  assert.deepEqual(row('TPOT p50').values.map((v) => v?.best), [false, true]);
  assert.equal(row('TTFT p95').values[1]!.diff!.change, (beta.stats.ttft!.p95 - alpha.stats.ttft!.p95) / alpha.stats.ttft!.p95);
  assert.deepEqual(row('error rate').values.map((v) => v?.value), [0, 0]);
});
