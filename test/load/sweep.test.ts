import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeProblem, sweepRates } from '../../src/load/sweep.ts';

test('sweepRates: K rates evenly spaced strictly between the probes, each step rounded to two significant digits', () => {
  const cases: { sync: number; throughput: number; k: number; rates: number[] }[] = [
    // A step of exactly 1 req/s: the probes' own rates (1 and 12) are not run again.
    { sync: 1, throughput: 12, k: 10, rates: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
    // A step of 0.2: 0.5 + 0.2 is 0.7000000000000001 in floating point, written 0.7.
    { sync: 0.5, throughput: 2.7, k: 10, rates: [0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9, 2.1, 2.3, 2.5] },
    // One rate: the midpoint.
    { sync: 4, throughput: 10, k: 1, rates: [7] },
    // A step of 13.19 (9.17 → 74.97 in 5 steps) rounds to whole requests/s.
    { sync: 9.17, throughput: 74.97, k: 4, rates: [22, 35, 49, 62] },
    // A step of 1.0727…: rates to 0.1 req/s.
    { sync: 0.5, throughput: 12.3, k: 10, rates: [1.6, 2.6, 3.7, 4.8, 5.9, 6.9, 8, 9.1, 10.2, 11.2] },
    // A narrow span keeps its rates apart: a step of 0.00009 gives six decimals.
    { sync: 1, throughput: 1.00027, k: 2, rates: [1.00009, 1.00018] },
  ];
  for (const { sync, throughput, k, rates } of cases) {
    const plan = sweepRates(sync, throughput, k);
    assert.deepEqual(plan, { rates }, `${sync} → ${throughput}, ${k} rates`);
    for (const rate of plan.rates) assert.ok(rate > sync && rate < throughput, `${rate} strictly between ${sync} and ${throughput}`);
  }
});

test('sweepRates: a throughput probe no faster than the synchronous one (identical probes, or slower) leaves no rates, and says why', () => {
  for (const [sync, throughput] of [
    [5, 5],
    [5, 4.2],
  ] as const) {
    const plan = sweepRates(sync, throughput, 10);
    assert.deepEqual(plan.rates, []);
    assert.equal(
      plan.reason,
      `the throughput probe's request rate (${throughput} req/s) is not above the synchronous probe's (${sync} req/s): more requests in flight did not serve more, so there is no span of rates to sweep`,
    );
  }
});

test('probeProblem: a probe whose request rate is 0 (or not a number) stops the sweep, naming the probe and its requests', () => {
  const load = { kind: 'concurrency' as const, value: 1 };
  assert.equal(probeProblem('synchronous', { requestsPerS: 3.5, ok: 7, requests: 8, load }), undefined);
  assert.equal(
    probeProblem('synchronous', { requestsPerS: 0, ok: 0, requests: 8, load }),
    'the synchronous probe (c=1) measured no request rate (0 of 8 measured requests succeeded, none inside its window): its sweep stops here',
  );
  assert.match(probeProblem('throughput', { requestsPerS: Number.NaN, ok: 0, requests: 0, load: { kind: 'concurrency', value: 256 } })!, /^the throughput probe \(c=256\) measured no request rate/);
});
