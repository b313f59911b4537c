import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrivalOffsetsMs } from '../../src/load/arrivals.ts';
import type { OutgoingRequest } from '../../src/load/cell-budget.ts';
import { cellLoad } from '../../src/load/cell-load.ts';
import { openLoop } from '../../src/load/open-loop.ts';
import { deriveSeed, seededRandom } from '../../src/util/random.ts';
import type { Exchange, LoadSpec } from '../../src/types.ts';
import { sleep, VirtualClock } from '../../src/util/clock.ts';

const prompts = [{ messages: [{ role: 'user' as const, content: 'hi' }] }];

const exchangeOf = (request: OutgoingRequest, t0: number, tEnd: number): Exchange => ({ id: request.id, ts: request.ts!, t0, tEnd, chunks: [] });

async function drain<T>(loop: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of loop) items.push(item);
  return items;
}

test('the open-loop scheduler sends every arrival at its due time over a 30 s run, without drift', async () => {
  const clock = new VirtualClock(1000);
  const rate = 100;
  const sent: { ts: number; at: number }[] = [];
  const loop = openLoop(
    { rate, arrival: 'constant', maxInFlight: 1000, random: seededRandom(1), durationMs: 30_000, warmup: 0, prompts, idPrefix: 'd' },
    async (request) => {
      const at = clock.now();
      sent.push({ ts: request.ts!, at });
      await sleep(clock, 25); // longer than the gap between arrivals: several in flight at once
      return exchangeOf(request, at, clock.now());
    },
    { clock },
  );
  const finished = await clock.run(drain(loop));
  assert.ok(finished.every((request) => request.exchange), 'nothing dropped below maxInFlight');
  // One warm-up arrival, then 30 s of arrivals every 10 ms.
  assert.equal(sent.length, 1 + 30_000 / (1000 / rate));
  sent.forEach((s, i) => {
    assert.equal(s.ts, 1000 + i * 10, `arrival ${i} is scheduled at start + i/rate`);
    assert.equal(s.at, s.ts, `arrival ${i} is sent when due, neither early nor late`);
  });
});

test('a client that stalls sends late, and the lag shows against the schedule instead of shifting it', async () => {
  const clock = new VirtualClock();
  const sent: { ts: number; at: number }[] = [];
  const loop = openLoop(
    { rate: 100, arrival: 'constant', maxInFlight: 1000, random: seededRandom(1), requests: 20, warmup: 0, prompts, idPrefix: 's' },
    async (request) => {
      sent.push({ ts: request.ts!, at: clock.now() });
      // The fifth send holds the thread for 35 ms: the arrivals due meanwhile go out late, at once.
      if (sent.length === 5) clock.block(35);
      return exchangeOf(request, clock.now(), clock.now());
    },
    { clock },
  );
  await clock.run(drain(loop));
  const lag = sent.map((s) => s.at - s.ts);
  assert.deepEqual(lag.slice(0, 5), [0, 0, 0, 0, 0]);
  assert.deepEqual(lag.slice(5, 9), [25, 15, 5, 0], 'the arrivals due during the stall are sent at once when it ends');
  assert.deepEqual(
    sent.map((s) => s.ts),
    Array.from({ length: 21 }, (_, i) => i * 10),
    'the schedule itself never moves',
  );
});

test('poisson arrivals follow their seeded schedule exactly', async () => {
  const run = async () => {
    const clock = new VirtualClock();
    const sent: number[] = [];
    const loop = openLoop(
      { rate: 50, arrival: 'poisson', maxInFlight: 100, random: seededRandom(7), requests: 200, warmup: 0, prompts, idPrefix: 'p' },
      async (request) => {
        sent.push(clock.now());
        return exchangeOf(request, clock.now(), clock.now());
      },
      { clock },
    );
    await clock.run(drain(loop));
    return sent;
  };
  const first = await run();
  assert.deepEqual(await run(), first, 'the same seed gives the same arrivals');
  const meanGapMs = first.at(-1)! / (first.length - 1);
  assert.ok(meanGapMs > 17 && meanGapMs < 23, `mean gap ${meanGapMs.toFixed(2)} ms at 50 req/s`);
});

test("a scenario's gamma arrivals reach the scheduler with their burstiness: each ts is the seeded gamma schedule's", async () => {
  const load: LoadSpec = {
    kind: 'rate',
    levels: [40],
    arrival: 'gamma',
    burstiness: 0.25,
    maxInFlight: 100,
    requests: 50,
    warmup: 0,
    maxScheduleLagMs: 10,
    maxClientLagMs: 10,
    maxStartOffsetMs: 1000,
  };
  const clock = new VirtualClock();
  const cell = cellLoad({ load, seed: 3 }, { kind: 'rate', value: 40 }, prompts, 'g', async (request) => exchangeOf(request, clock.now(), clock.now()), { clock });
  const finished = await clock.run(drain(cell.requests));
  assert.equal(finished.filter((r) => !r.warmup).length, 50);
  // The stream cell-load.ts seeds arrivals from (ARRIVALS_STREAM, the rate in thousandths).
  const expected: number[] = [];
  for (const offset of arrivalOffsetsMs('gamma', 40, seededRandom(deriveSeed(3, 0xa1, 40_000)), 0.25)) {
    if (expected.push(offset) === finished.length) break;
  }
  assert.deepEqual(
    finished.map((r) => r.ts),
    expected,
  );
});

test("given offsets (a replayed trace), each request's ts is its offset exactly, the first is warm-up, and the cell ends after the last", async () => {
  const offsetsMs = [0, 62.5, 62.5, 775, 1000.125, 4000];
  for (const share of [undefined, { index: 1, count: 2 }]) {
    const clock = new VirtualClock();
    const sent: number[] = [];
    const loop = openLoop(
      { rate: 1, arrival: 'constant', maxInFlight: 100, random: seededRandom(1), offsetsMs, requests: 1000, warmup: 0, prompts, idPrefix: 't', ...(share ? { share } : {}) },
      async (request) => {
        sent.push(clock.now());
        await sleep(clock, 500);
        return exchangeOf(request, clock.now() - 500, clock.now());
      },
      { clock },
    );
    const finished = await clock.run(drain(loop));
    const mine = share ? offsetsMs.filter((_, n) => n % share.count === share.index) : offsetsMs;
    assert.deepEqual(finished.map((r) => r.ts).sort((a, b) => a - b), mine);
    assert.deepEqual(sent, mine, 'sent at the due times, none late on a virtual clock');
    // warmup: 0 is raised to one warm-up arrival, the cell's first (share 0's), sent at its time like the rest.
    const warm = finished.filter((r) => r.warmup).map((r) => r.ts);
    assert.deepEqual(warm, share ? [] : [0]);
  }
});

test('an arrival that finds maxInFlight requests in flight is recorded as dropped, never queued', async () => {
  const clock = new VirtualClock();
  // Each request takes 200 ms; arrivals come every 5 ms for 100 ms: the first five fill the cap.
  const loop = openLoop(
    { rate: 200, arrival: 'constant', maxInFlight: 5, random: seededRandom(1), requests: 20, warmup: 0, prompts, idPrefix: 'x' },
    async (request) => {
      const t0 = clock.now();
      await sleep(clock, 200);
      return exchangeOf(request, t0, clock.now());
    },
    { clock },
  );
  const finished = await clock.run(drain(loop));
  // 1 warm-up + 20 measured arrivals; 5 sent, 16 dropped.
  assert.equal(finished.length, 21);
  assert.equal(finished.filter((r) => r.exchange === undefined).length, 16);
  assert.deepEqual(
    finished.filter((r) => r.exchange !== undefined).map((r) => r.id),
    ['x-0', 'x-1', 'x-2', 'x-3', 'x-4'],
  );
});
