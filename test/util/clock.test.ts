import assert from 'node:assert/strict';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { shiftedClock, sleep, sleepUntil, systemClock, threadClockOrigin, VirtualClock } from '../../src/util/clock.js';

test('a virtual clock fires timers in due order as time advances, and not before', async () => {
  const clock = new VirtualClock(100);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  const cancelled = clock.setTimeout(() => fired.push('never'), 15);
  clock.clearTimeout(cancelled);
  await clock.advance(9);
  assert.deepEqual(fired, []);
  await clock.advance(11);
  assert.deepEqual(fired, ['a@110', 'b@120']);
  assert.equal(clock.now(), 120);
  assert.equal(clock.pending, 0);
});

test('run drives chained sleeps to their end on simulated time', async () => {
  const clock = new VirtualClock();
  const stamps: number[] = [];
  const work = (async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(clock, 30_000);
      stamps.push(clock.now());
    }
    return 'done';
  })();
  assert.equal(await clock.run(work), 'done');
  assert.deepEqual(stamps, [30_000, 60_000, 90_000, 120_000, 150_000]);
});

test('run refuses work that waits on nothing the clock can fire', async () => {
  const clock = new VirtualClock(0, 50);
  await assert.rejects(clock.run(new Promise(() => undefined)), /no timer is left/);
});

test('run waits for real I/O that sets a timer later', async () => {
  const clock = new VirtualClock();
  const work = new Promise<string>((resolve) => setTimeout(() => clock.setTimeout(() => resolve('after I/O'), 1000), 20));
  assert.equal(await clock.run(work), 'after I/O');
  assert.equal(clock.now(), 1000);
});

test('sleepUntil rejects with the abort reason and cancels its timer', async () => {
  const clock = new VirtualClock();
  const controller = new AbortController();
  const waiting = sleepUntil(clock, 1000, controller.signal);
  controller.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
  assert.equal(clock.pending, 0);
});

test('sleepUntil on the system clock never resolves before its time', async () => {
  const due = systemClock.now() + 3;
  await sleepUntil(systemClock, due);
  assert.ok(systemClock.now() >= due);
});

test("a thread's clock origin: hrtime − performance.now(), from the pair of reads closest together, to the nanosecond", () => {
  // Three tries: gaps of 900, 100 and 400 ns; the second's now() (250.0000 ms) sat between its hrtime reads.
  const hr = [1_000_000_000n, 1_000_000_900n, 2_000_000_000n, 2_000_000_100n, 3_000_000_000n, 3_000_000_400n];
  const nows = [999.9, 1_749.99995, 2_999.9];
  const origin = threadClockOrigin(() => hr.shift()!, () => nows.shift()!, 3);
  // Midpoint of the closest pair: 2,000,000,050 ns = 2000.00005 ms; minus its now().
  assert.ok(Math.abs(origin - (2000.00005 - 1_749.99995)) < 1e-9, `origin ${origin}`);
});

test("a shifted clock reads the other thread's time: the offset added to every read, timers untouched", async () => {
  const inner = new VirtualClock(10);
  const clock = shiftedClock(inner, 2.5);
  assert.equal(clock.now(), 12.5);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 5);
  await inner.advance(5);
  assert.deepEqual(fired, [17.5]);
  assert.equal(shiftedClock(inner, 0), inner, 'no offset, the clock itself');
});

test("a worker thread's times moved onto this thread's clock fall between this thread's reads around them", async () => {
  // The worker loads util/clock.ts through tsx, as the load workers do from the TypeScript source.
  const clockUrl = new URL('../../src/util/clock.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.tsx).then(async ({ register }) => {
       register();
       const { shiftedClock, systemClock, threadClockOrigin } = await import(workerData.clockUrl);
       const clock = shiftedClock(systemClock, threadClockOrigin() - workerData.mainOrigin);
       parentPort.on('message', () => parentPort.postMessage(clock.now()));
       parentPort.postMessage('ready');
     });`,
    { eval: true, workerData: { tsx, clockUrl, mainOrigin: threadClockOrigin() } },
  );
  try {
    await once(worker, 'message');
    for (let i = 0; i < 20; i++) {
      const before = performance.now();
      worker.postMessage('now');
      const [workerNow] = (await once(worker, 'message')) as [number];
      const after = performance.now();
      // An ordering in real time, not a duration: the worker read its clock after the post and before the reply.
      assert.ok(before <= workerNow && workerNow <= after, `${before} <= ${workerNow} <= ${after}`);
    }
  } finally {
    await worker.terminate();
  }
});

test("the system clock's timers wait at most Node's limit (2³¹−1 ms), and sleepUntil waits again for the rest: a longer wait never fires early", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  // The system clock's timers on mocked time: now() reads the mocked Date.
  const clock = { ...systemClock, now: () => Date.now() };
  const limit = 2 ** 31 - 1;
  // The delays the system clock asks Node for (Node fires a longer one at once).
  const delays: number[] = [];
  const mocked = globalThis.setTimeout;
  t.mock.method(globalThis, 'setTimeout', (callback: () => void, ms: number) => (delays.push(ms), mocked(callback, ms)));
  let done = false;
  const slept = sleepUntil(clock, limit + 1000).then(() => (done = true));
  t.mock.timers.tick(limit);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, false, 'the first timer fired at the limit, and the wait went on');
  t.mock.timers.tick(999);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, false);
  t.mock.timers.tick(1);
  await slept;
  assert.equal(Date.now(), limit + 1000);
  assert.deepEqual(delays, [limit, 1000]);
});
