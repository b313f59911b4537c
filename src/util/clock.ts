/**
 * Time as a parameter (STYLE.md): everything that reads the time or waits
 * for it (the load loops, the open-loop scheduler, the client's timeouts,
 * the progress line) takes a Clock, so tests run on simulated time that
 * cannot flake on a busy machine, and only `npm run bench` uses the wall.
 *
 * Times are milliseconds on one monotonic clock (`performance.now()` for
 * the system clock).
 */
import { performance } from 'node:perf_hooks';

/** A pending timer; only its clock can cancel it. */
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** The current time, ms (monotonic). */
  now(): number;
  /**
   * Calls `callback` once, about `delayMs` from now: the system clock's timers may fire up to
   * ~1 ms early (Node counts whole milliseconds); `sleepUntil` re-checks where that matters.
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer of this clock; a timer that fired or was cleared is ignored. */
  clearTimeout(timer: TimerHandle | undefined): void;
}

/**
 * Node's timers count whole milliseconds and may fire up to ~1 ms early, so a
 * wait of under a millisecond is a turn of the event loop (setImmediate),
 * which lets a caller re-check the time without sleeping a whole millisecond.
 * Longer waits are capped at Node's limit (2³¹−1 ms), beyond which a timer fires at once.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    if (delayMs < 1) return { immediate: setImmediate(callback) } as unknown as TimerHandle;
    return { timeout: setTimeout(callback, Math.min(delayMs, MAX_TIMER_MS)) } as unknown as TimerHandle;
  },
  clearTimeout(timer) {
    if (timer === undefined) return;
    const handle = timer as unknown as { immediate?: NodeJS.Immediate; timeout?: NodeJS.Timeout };
    if (handle.immediate) clearImmediate(handle.immediate);
    if (handle.timeout) clearTimeout(handle.timeout);
  },
};

/**
 * Where this thread's `performance.now()` counts from, on the monotonic clock both it and
 * `process.hrtime` read (ms): `hrtime − now`. Each thread's `performance.now()` may have its own
 * origin; the difference of two threads' origins maps one's times onto the other's. Read as the
 * pair of reads that were closest together (the now() between two hrtime reads, their midpoint),
 * so the error is well under a microsecond. `hrtime` and `now` are injectable for tests.
 */
export function threadClockOrigin(
  hrtime: () => bigint = process.hrtime.bigint,
  now: () => number = () => performance.now(),
  tries = 7,
): number {
  let best: { gapNs: bigint; originMs: number } | undefined;
  for (let i = 0; i < tries; i++) {
    const before = hrtime();
    const at = now();
    const after = hrtime();
    const gapNs = after - before;
    if (best && gapNs >= best.gapNs) continue;
    // Whole milliseconds and the rest apart: a bigint of nanoseconds does not fit a double's precision as ms.
    const midNs = before + gapNs / 2n;
    best = { gapNs, originMs: Number(midNs / 1_000_000n) - at + Number(midNs % 1_000_000n) / 1e6 };
  }
  return best!.originMs;
}

/**
 * `clock` with `offsetMs` added to every time it reads: a worker thread's clock moved onto the
 * main thread's (offset = the worker's origin − the main thread's, threadClockOrigin). Timers wait
 * durations, which no offset changes.
 */
export function shiftedClock(clock: Clock, offsetMs: number): Clock {
  if (offsetMs === 0) return clock;
  return {
    now: () => clock.now() + offsetMs,
    setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs),
    clearTimeout: (timer) => clock.clearTimeout(timer),
  };
}

/**
 * Resolves when `clock` reaches `at` (never earlier: a timer that fires early
 * waits again for the rest); rejects with the signal's reason when it aborts first.
 */
export function sleepUntil(clock: Clock, at: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer: TimerHandle | undefined;
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const check = (): void => {
      const waitMs = at - clock.now();
      if (waitMs > 0) {
        timer = clock.setTimeout(check, waitMs);
        return;
      }
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** `sleepUntil(clock, clock.now() + ms)`. */
export const sleep = (clock: Clock, ms: number, signal?: AbortSignal): Promise<void> => sleepUntil(clock, clock.now() + ms, signal);

interface VirtualTimer {
  at: number;
  /** Insertion order: timers due at the same time fire in the order they were set. */
  seq: number;
  callback: () => void;
}

/**
 * Simulated time for tests: `now()` moves only when the test moves it, and
 * timers fire in order of their due time as it passes. `run(promise)` drives
 * a whole load (a cell, a request) to its end: it lets the event loop settle
 * (real I/O and promise chains), then jumps to the next timer, and repeats.
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<TimerHandle, VirtualTimer>();

  /**
   * `start`: the time it reads at first, ms. `stuckAfterMs`: how long (real time)
   * `run` waits for real I/O to set a timer before it calls the work stuck.
   */
  constructor(
    start = 0,
    private readonly stuckAfterMs = 10_000,
  ) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = {} as TimerHandle;
    this.timers.set(handle, { at: this.time + Math.max(0, delayMs), seq: this.seq++, callback });
    return handle;
  }

  clearTimeout(timer: TimerHandle | undefined): void {
    if (timer !== undefined) this.timers.delete(timer);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const until = this.time + Math.max(0, ms); // time never runs backwards
    for (let next = this.nextTimer(); next && next[1].at <= until; next = this.nextTimer()) {
      this.time = Math.max(this.time, next[1].at);
      this.timers.delete(next[0]);
      next[1].callback();
      await settle();
    }
    this.time = until;
    await settle();
  }

  /**
   * Moves time forward by `ms` without firing anything: the thread was busy
   * (a stalled event loop), so the timers that fell due meanwhile fire late.
   */
  block(ms: number): void {
    this.time += Math.max(0, ms);
  }

  /**
   * Runs the event loop and simulated time until `work` settles: whenever
   * nothing else is left to do, time jumps to the next timer. Only for work
   * whose every wait is on this clock (a fake server on real sockets would
   * see its timeouts fire before its bytes arrive). Throws when
   * `work` is still pending with no timer left (it would never settle).
   */
  async run<T>(work: Promise<T>): Promise<T> {
    const state = { done: false };
    const watched = work.finally(() => (state.done = true));
    watched.catch(() => undefined);
    for (;;) {
      await settle();
      if (state.done) return watched;
      const next = this.nextTimer() ?? (await this.awaitTimer(state));
      if (!next) {
        if (state.done) return watched;
        throw new Error('VirtualClock.run: the work is pending and no timer is left to fire');
      }
      this.time = Math.max(this.time, next[1].at);
      this.timers.delete(next[0]);
      next[1].callback();
    }
  }

  /**
   * No timer is pending: the work waits on real I/O (a file, a dynamic import).
   * Waits in real time, up to stuckAfterMs, for a timer to be set or the work to end.
   */
  private async awaitTimer(state: { done: boolean }): Promise<[TimerHandle, VirtualTimer] | undefined> {
    const giveUpAt = performance.now() + this.stuckAfterMs;
    while (!state.done && performance.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const next = this.nextTimer();
      if (next) return next;
    }
    return undefined;
  }

  private nextTimer(): [TimerHandle, VirtualTimer] | undefined {
    let best: [TimerHandle, VirtualTimer] | undefined;
    for (const entry of this.timers) {
      if (!best || entry[1].at < best[1].at || (entry[1].at === best[1].at && entry[1].seq < best[1].seq)) best = entry;
    }
    return best;
  }
}

/** Lets pending promise callbacks and immediates run (a few turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}
