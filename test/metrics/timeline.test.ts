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

test('the bin width is the smallest round 1-2-5 step (100 ms at least) that covers the span in at most 200 bins on Unix multiples', () => {
  const cases: [string, number, number, number][] = [
    ['a tenth of a second', 0, 100_000, 100_000],
    ['19.999 s: 200 bins of 100 ms', 0, 19_999_999, 100_000],
    ['20 s reaches a 201st bin of 100 ms', 0, 20_000_000, 200_000],
    ['20 s not on a bin edge: 201 bins of 100 ms', 50_000, 20_049_999, 200_000],
    ['a minute', 0, 60_000_000, 500_000],
    ['ten minutes', 0, 600_000_000, 5_000_000],
    ['an hour', 0, 3_600_000_000, 20_000_000],
  ];
  for (const [name, from, to, width] of cases) {
    assert.equal(binWidthUs(from, to), width, name);
    assert.ok(Math.floor(to / width) - Math.floor(from / width) + 1 <= MAX_BINS, name);
  }
  // The fine bins already 1 s wide: 100, 200 and 500 ms are not multiples of them.
  assert.equal(binWidthUs(0, 1_000_000, 1_000_000), 1_000_000);
});

test('bins of a hand-made cell: tokens at their chunks’ arrival, in-flight time-weighted, sends, ends, errors and drops where they happened', () => {
  const bins = new TimelineBins();
  // Warm-up A: sent at 50, chunks at 150 (2 tokens) and 250 (3), ends at 300.
  bins.add(record(50, 250, { warmup: true, chunks: [[100, 2], [200, 3]] }));
  // B: sent at 120, a chunk at 200 (4 tokens) and 1 token no chunk carried (it counts at the end, 320).
  bins.add(record(120, 200, { chunks: [[80, 4]], untimed: 1 }));
  // C: a server error, 200 → 230. D: an arrival dropped at 210, never sent. E: interrupted, 220 → 290: not an error.
  bins.add(record(200, 30, { outcome: 'error' }));
  bins.add(record(210, 0, { outcome: 'dropped' }));
  bins.add(record(220, 70, { outcome: 'error', interrupted: true }));
  assert.deepEqual(bins.timeline({ startMs: U + 120, endMs: U + 300 }), {
    startUnixMs: U + 50,
    binMs: 100,
    // Bins on Unix multiples of 100 ms: bin 0 is [U, U + 100), 50 ms before the first send.
    firstBinMs: -50,
    measuredFromMs: 70,
    window: { startMs: 70, endMs: 250 },
    outputTokens: [0, 2, 7, 1],
    // [0,100): A from 50 → 0.5; [100,200): A, and B from 120 → 1.8; [200,300): A, B, C 30 ms, E 70 ms → 3; [300,400): B until 320 → 0.2.
    inFlight: [0.5, 1.8, 3, 0.2],
    started: [1, 1, 2, 0],
    ended: [0, 0, 2, 2],
    errors: [0, 0, 1, 0],
    dropped: [0, 0, 1, 0],
  });
});

test('a request that ends on a bin edge is in flight up to it, not in the next bin', () => {
  const bins = new TimelineBins();
  bins.add(record(0, 100));
  bins.add(record(100, 100));
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
  assert.equal(summary.timeline?.binMs, 100);
  assert.equal(summary.timeline?.outputTokens.reduce((a, b) => a + b, 0), 40);

  const untimed = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value: 1 } });
  const { sentAtUnixMs: _sent, scheduledAtUnixMs: _scheduled, ...bare } = record(0, 100);
  untimed.add(bare, { t0: 0, tEnd: 100 });
  assert.equal(untimed.summary().timeline, undefined);
});
