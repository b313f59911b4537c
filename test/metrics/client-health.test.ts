import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellAccumulator, mergeRepeats, type CellOptions } from '../../src/metrics/cell-summary.ts';
import {
  clientVerdict,
  combineClientHealth,
  delaySamples,
  fillStalls,
  MAX_CLIENT_UTILIZATION,
  type ClientBounds,
  type ClientFacts,
  type ClientHealth,
} from '../../src/metrics/client-health.ts';
import type { SloBound } from '../../src/types.ts';

const BOUNDS: ClientBounds = { maxClientLagMs: 10, maxScheduleLagMs: 10 };
const SCHEDULE_LAG = 'p99 schedule lag 42.0 ms > 10 ms (3 requests late): the client could not send on time, so these numbers describe the client, not the server';
const LOOP_DELAY = 'client lag: event-loop delay p99 312.0 ms > 10 ms: the client, not the server, was the bottleneck';
const UTILIZATION = 'client lag: event-loop utilization 0.97 >= 0.95: the client, not the server, was the bottleneck';

test('the validity rule: the client was the bottleneck when its loop delay, its utilization or its schedule lag broke its bound', () => {
  const cases: { name: string; facts: ClientFacts; bounds?: ClientBounds; reason: string | undefined }[] = [
    { name: 'a quiet client', facts: { loopDelayP99Ms: 0.4, utilization: 0.3, scheduleLagP99Ms: 0.2, lateRequests: 0 }, reason: undefined },
    { name: 'no monitor ran: nothing to judge but the schedule', facts: { lateRequests: 0 }, reason: undefined },
    { name: 'loop delay p99 at the bound is within it', facts: { loopDelayP99Ms: 10, utilization: 0.5, lateRequests: 0 }, reason: undefined },
    { name: 'a stalled loop', facts: { loopDelayP99Ms: 312, utilization: 0.5, lateRequests: 0 }, reason: LOOP_DELAY },
    { name: 'a looser maxClientLag', facts: { loopDelayP99Ms: 312, lateRequests: 0 }, bounds: { ...BOUNDS, maxClientLagMs: 500 }, reason: undefined },
    { name: 'utilization just under the limit', facts: { loopDelayP99Ms: 1, utilization: MAX_CLIENT_UTILIZATION - 0.001, lateRequests: 0 }, reason: undefined },
    { name: 'a loop busy 97% of the time', facts: { loopDelayP99Ms: 1, utilization: 0.97, lateRequests: 0 }, reason: UTILIZATION },
    {
      name: 'a lower maxClientUtilization',
      facts: { loopDelayP99Ms: 1, utilization: 0.85, lateRequests: 0 },
      bounds: { ...BOUNDS, maxClientUtilization: 0.8 },
      reason: 'client lag: event-loop utilization 0.85 >= 0.8: the client, not the server, was the bottleneck',
    },
    { name: 'utilization over a cell shorter than a second is not judged', facts: { loopDelayP99Ms: 1, utilization: 0.99, monitoredMs: 20, lateRequests: 0 }, reason: undefined },
    { name: 'over a second it is', facts: { loopDelayP99Ms: 1, utilization: 0.97, monitoredMs: 1000, lateRequests: 0 }, reason: UTILIZATION },
    { name: 'maxClientUtilization 1 turns the check off', facts: { loopDelayP99Ms: 1, utilization: 1, lateRequests: 0 }, bounds: { ...BOUNDS, maxClientUtilization: 1 }, reason: undefined },
    { name: 'late sends (the schedule-lag rule, text unchanged)', facts: { scheduleLagP99Ms: 42, lateRequests: 3 }, reason: SCHEDULE_LAG },
    { name: 'one late send does not void a cell', facts: { scheduleLagP99Ms: 42, lateRequests: 1 }, reason: undefined },
    {
      name: 'every cause at once, each named',
      facts: { loopDelayP99Ms: 312, utilization: 0.97, scheduleLagP99Ms: 42, lateRequests: 3 },
      reason: [SCHEDULE_LAG, LOOP_DELAY, UTILIZATION].join('; '),
    },
  ];
  for (const { name, facts, bounds, reason } of cases) assert.equal(clientVerdict(facts, bounds ?? BOUNDS), reason, name);
});

/** A stand-in for monitorEventLoopDelay's histogram: its samples, ns, with HdrHistogram's percentile rule. */
function fakeHistogram(samplesNs: number[]) {
  const sorted = [...samplesNs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    percentile: (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!,
  };
}

test('the monitor’s histogram becomes weighted samples in ms, minus the resolution, floored at 0, with its p50, p99 and max', () => {
  // 980 ticks on time (1.05 ms), 15 a little late, 4 late, one at 0.6 ms (an early tick: no negative delay).
  const ns = [...Array(980).fill(1_050_000), ...Array(15).fill(3_000_000), ...Array(4).fill(12_000_000), 600_000];
  const samples = delaySamples(fakeHistogram(ns), 1);
  assert.equal(samples.reduce((n, s) => n + s.count, 0), 1000);
  assert.ok(samples.every((s) => s.value >= 0));
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  accumulator.addClientHealth({ loopDelay: samples, utilization: 0.2, elapsedMs: 1000 });
  const stats = accumulator.summary().stats.client_loop_delay!;
  assert.deepEqual([stats.p50, stats.p99, stats.max], [0.05, 2, 11]);
});

test('a stall fills in the ticks it swallowed, so p99 sees a 300 ms block in a one-second cell', () => {
  assert.deepEqual(fillStalls([{ value: 0.5, count: 10 }, { value: 3.5, count: 2 }], 1), [
    { value: 0.5, count: 10 },
    { value: 1.5, count: 2 },
    { value: 2.5, count: 2 },
    { value: 3.5, count: 2 },
  ]);
  const filled = fillStalls([{ value: 0.05, count: 700 }, { value: 300, count: 1 }], 1);
  assert.equal(filled.reduce((n, s) => n + s.count, 0), 700 + 300);
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } }, { slo: [], maxScheduleLagMs: 10, maxClientLagMs: 10 });
  accumulator.addClientHealth({ loopDelay: filled, utilization: 0.4, elapsedMs: 1000 });
  const summary = accumulator.summary();
  assert.ok(summary.stats.client_loop_delay!.p99 > 280, `p99 ${summary.stats.client_loop_delay!.p99}`);
  assert.match(summary.invalid ?? '', /^client lag: event-loop delay p99 \d+\.\d ms > 10 ms/);
});

const quiet: ClientHealth = { loopDelay: [{ value: 0.1, count: 990 }, { value: 2, count: 10 }], utilization: 0.25, elapsedMs: 1000 };
const stalled: ClientHealth = { loopDelay: [{ value: 0.1, count: 900 }, { value: 50, count: 100 }], utilization: 0.6, elapsedMs: 3000 };
const SLO: SloBound[] = [{ key: 'client_loop_delay_p99_ms', metric: 'client_loop_delay', stat: 99, bound: 5, direction: 'max' }];
const OPTIONS: CellOptions = { slo: SLO, maxScheduleLagMs: 10, maxClientLagMs: 10 };

test('a cell keeps its client health: a quiet client leaves it valid; a stalled one voids it and fails its SLO with the cause named', () => {
  const cell = (health: ClientHealth, repeat?: number) => {
    const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 2 }, ...(repeat ? { repeat } : {}) }, OPTIONS);
    accumulator.addClientHealth(health);
    return { accumulator, summary: accumulator.summary() };
  };
  const ok = cell(quiet, 1).summary;
  assert.equal(ok.invalid, undefined);
  assert.equal(ok.clientUtilization, 0.25);
  assert.deepEqual([ok.stats.client_loop_delay!.p50, ok.stats.client_loop_delay!.p99], [0.1, 0.1]);
  assert.equal(ok.slo!.met, true);

  const bad = cell(stalled, 2).summary;
  assert.equal(bad.invalid, 'client lag: event-loop delay p99 50.0 ms > 10 ms: the client, not the server, was the bottleneck');
  // HdrHistogram keeps 3 significant digits: 50 ms reads back as 50.
  assert.deepEqual(
    bad.slo!.checks.filter((check) => !check.ok).map((check) => [check.key, check.measured, check.bound]),
    [
      ['client_loop_delay_p99_ms', 50, 5],
      ['client_loop_delay_p99_ms (invalid cell)', 50, 10],
    ],
  );

  // Merged repeats: histograms added, utilization weighted by each repeat's time, invalid through the stalled repeat.
  const merged = mergeRepeats([cell(quiet, 1), cell(stalled, 2)], OPTIONS);
  assert.equal(merged.stats.client_loop_delay!.count, 2000);
  assert.equal(merged.clientUtilization, (0.25 * 1000 + 0.6 * 3000) / 4000);
  assert.match(merged.invalid ?? '', /^repeat 2: client lag: event-loop delay p99 50\.0 ms > 10 ms/);
});

test("load workers' health as one: every thread's delay samples together, the busiest judged thread's utilization", () => {
  const quiet: ClientHealth = { loopDelay: [{ value: 0, count: 900 }, { value: 1, count: 100 }], utilization: 0.3, elapsedMs: 2000 };
  const busy: ClientHealth = { loopDelay: [{ value: 1, count: 50 }, { value: 40, count: 20 }], utilization: 0.9, elapsedMs: 1900 };
  // A thread watched for a few ms (its share of the cell was empty) says nothing of utilization.
  const brief: ClientHealth = { loopDelay: [{ value: 0, count: 2 }], utilization: 1, elapsedMs: 3 };
  assert.deepEqual(combineClientHealth([quiet, busy, brief]), {
    loopDelay: [
      { value: 0, count: 902 },
      { value: 1, count: 150 },
      { value: 40, count: 20 },
    ],
    utilization: 0.9,
    elapsedMs: 1900,
  });
  assert.equal(combineClientHealth([]), undefined);
  assert.equal(combineClientHealth([quiet]), quiet);
  // None watched long enough: the longest-watched one's.
  assert.deepEqual(combineClientHealth([brief, { ...brief, utilization: 0.5, elapsedMs: 10 }])?.utilization, 0.5);

  // In a cell, the union's p99 is what the rule judges: 20 of 1072 samples at 40 ms put p99 over the 10 ms bound.
  const cell = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 2 } }, { slo: [], maxScheduleLagMs: 10, maxClientLagMs: 10 });
  cell.addClientHealth(combineClientHealth([quiet, busy, brief])!);
  assert.match(cell.summary().invalid ?? '', /client lag: event-loop delay p99 40\.0 ms > 10 ms/);
});
