import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CellAccumulator } from '../../src/metrics/cell-summary.ts';
import { binWidthUs, MAX_BINS, TimelineBins } from '../../src/metrics/timeline.ts';
import type { RequestRecord } from '../../src/types.ts';

/** Unix time of the hand-made cells' origin, ms: a multiple of every bin width used here (20 s included). */
const U = 1_700_000_000_000;

/** A request sent at U + sentMs: `chunks` as [ms after the send, tokens]; `untimed` tokens no chunk carried. */
function record(
  sentMs: number,
  e2eMs: number,
  options: { chunks?: [number, number][]; untimed?: number; warmup?: boolean; outcome?: RequestRecord['outcome']; interrupted?: boolean; slot?: number } = {},
): RequestRecord {
  const chunks = options.chunks ?? [];
  const tokens = chunks.reduce((sum, [, k]) => sum + k, 0) + (options.untimed ?? 0);
  const outcome = options.outcome ?? 'ok';
  return {
    id: `r${sentMs}`,
    model: 'm',
    load: { kind: 'concurrency', value: 2 },
    warmup: options.warmup ?? false,
    prompt: 0,
    outcome,
    ...(outcome === 'dropped' ? {} : { sentAtUnixMs: U + sentMs }),
    scheduledAtUnixMs: U + sentMs,
    ...(options.slot !== undefined ? { slot: options.slot } : {}),
    ...(outcome === 'error' ? { error: { class: options.interrupted ? 'interrupted' : 'server_error', message: 'x' } } : {}),
    metrics: {
      scheduleLagMs: 0,
      scheduledE2eMs: e2eMs,
      e2eMs,
      itl: [],
      chunkGapsMs: [],
      tokensPerChunk: chunks.map(([, k]) => k),
      chunkTimesMs: chunks.map(([at]) => at),
      chunkChoices: chunks.map(() => 0),
      outputTokens: tokens,
      reasoningTokens: 0,
    },
    tokenSource: 'tokenizer',
    tokenizer: 'llama3',
  };
}

test('the bin width is the smallest round 1-2-5 step (10 ms at least) that covers the span in at most 200 bins on Unix multiples', () => {
  const cases: [string, number, number, number][] = [
    ['a tenth of a second', 0, 100_000, 10_000],
    ['1.999 s: 200 bins of 10 ms', 0, 1_999_999, 10_000],
    ['2 s reaches a 201st bin of 10 ms', 0, 2_000_000, 20_000],
    ['2 s not on a bin edge: 201 bins of 10 ms', 5_000, 2_004_999, 20_000],
    ['a minute', 0, 60_000_000, 500_000],
    ['ten minutes', 0, 600_000_000, 5_000_000],
    ['an hour', 0, 3_600_000_000, 20_000_000],
  ];
  for (const [name, from, to, width] of cases) {
    assert.equal(binWidthUs(from, to), width, name);
    assert.ok(Math.floor(to / width) - Math.floor(from / width) + 1 <= MAX_BINS, name);
  }
  // The fine bins already 100 ms wide: 10, 20 and 50 ms are not multiples of them.
  assert.equal(binWidthUs(0, 1_000_000, 100_000), 100_000);
});

test('bins of a hand-made cell: tokens at their chunks’ arrival, in-flight time-weighted, sends, ends, errors and drops where they happened', () => {
  const bins = new TimelineBins();
  // Warm-up A: sent at 5, chunks at 15 (2 tokens) and 25 (3), ends at 30.
  bins.add(record(5, 25, { warmup: true, chunks: [[10, 2], [20, 3]] }));
  // B: sent at 12, a chunk at 20 (4 tokens) and 1 token no chunk carried (it counts at the end, 32).
  bins.add(record(12, 20, { chunks: [[8, 4]], untimed: 1 }));
  // C: a server error, 20 → 23. D: an arrival dropped at 21, never sent. E: interrupted, 22 → 29: not an error.
  bins.add(record(20, 3, { outcome: 'error' }));
  bins.add(record(21, 0, { outcome: 'dropped' }));
  bins.add(record(22, 7, { outcome: 'error', interrupted: true }));
  assert.deepEqual(bins.timeline({ startMs: U + 12, endMs: U + 30 }), {
    startUnixMs: U + 5,
    binMs: 10,
    // Bins on Unix multiples of 10 ms: bin 0 is [U, U + 10), 5 ms before the first send.
    firstBinMs: -5,
    measuredFromMs: 7,
    window: { startMs: 7, endMs: 25 },
    outputTokens: [0, 2, 7, 1],
    // [0,10): A from 5 → 0.5; [10,20): A, and B from 12 → 1.8; [20,30): A, B, C 3 ms, E 7 ms → 3; [30,40): B until 32 → 0.2.
    inFlight: [0.5, 1.8, 3, 0.2],
    started: [1, 1, 2, 0],
    ended: [0, 0, 2, 2],
    errors: [0, 0, 1, 0],
    dropped: [0, 0, 1, 0],
  });
});

test('a request that ends on a bin edge is in flight up to it, not in the next bin', () => {
  const bins = new TimelineBins();
  bins.add(record(0, 10));
  bins.add(record(10, 10));
  const timeline = bins.timeline()!;
  assert.deepEqual(timeline.inFlight, [1, 1, 0]);
  assert.deepEqual(timeline.ended, [0, 1, 1]);
  assert.equal(timeline.measuredFromMs, 0);
  assert.equal(timeline.window, undefined);
});

test('an hour-long cell: fine bins made coarser as it grows, 20 s bins in the end, the same whatever order the records come in', () => {
  // Two slots back to back: slot 0 every 10 s, slot 1 every 30 s; each request a chunk of 5 tokens at its end.
  const records: RequestRecord[] = [];
  for (let t = 0; t < 3_600_000; t += 10_000) records.push(record(t, 10_000, { slot: 0, chunks: [[10_000, 5]] }));
  for (let t = 0; t < 3_600_000; t += 30_000) records.push(record(t, 30_000, { slot: 1, chunks: [[30_000, 5]] }));
  const forward = new TimelineBins();
  for (const r of records) forward.add(r);
  const backward = new TimelineBins();
  for (const r of [...records].reverse()) backward.add(r);
  const timeline = forward.timeline()!;
  assert.deepEqual(backward.timeline(), timeline);
  assert.equal(timeline.binMs, 20_000);
  // [0, 3,600 s] ends on a bin edge: 180 bins and the last one, where the last requests end.
  assert.equal(timeline.outputTokens.length, 181);
  assert.deepEqual(timeline.inFlight, [...Array(180).fill(2), 0]);
  assert.equal(timeline.outputTokens.reduce((a, b) => a + b, 0), records.length * 5);
  // A 20 s bin holds two ends of slot 0 (one in the first); slot 1 ends at 30, 60, 90, 120 s: bins 1, 3, 4, 6.
  assert.deepEqual(timeline.outputTokens.slice(0, 7), [5, 15, 10, 15, 15, 10, 15]);
  assert.deepEqual(timeline.started.slice(0, 4), [3, 3, 2, 3]);
});

test('the accumulator’s summary carries the timeline, its window from the throughput window; a record without a wall-clock time adds none', () => {
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  // The edges on a clock 1,000 ms behind Unix time minus U: the window goes back onto Unix time with that offset.
  const add = (r: RequestRecord) => accumulator.add(r, { t0: r.sentAtUnixMs! - U + 1000, tEnd: r.sentAtUnixMs! - U + 1000 + r.metrics.e2eMs });
  add(record(0, 100, { warmup: true, slot: 0, chunks: [[100, 10]] }));
  for (const t of [100, 200, 300]) add(record(t, 100, { slot: 0, chunks: [[50, 5], [100, 5]] }));
  const summary = accumulator.summary();
  assert.deepEqual(summary.timeline?.window, { startMs: 100, endMs: 400 });
  assert.equal(summary.timeline?.measuredFromMs, 100);
  assert.equal(summary.timeline?.binMs, 10);
  assert.equal(summary.timeline?.outputTokens.reduce((a, b) => a + b, 0), 40);

  const untimed = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  const { sentAtUnixMs: _sent, scheduledAtUnixMs: _scheduled, ...bare } = record(0, 100);
  untimed.add(bare, { t0: 0, tEnd: 100 });
  assert.equal(untimed.summary().timeline, undefined);
});
