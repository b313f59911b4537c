import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, sleepUntil, systemClock, VirtualClock } from '../../src/util/clock.js';

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
