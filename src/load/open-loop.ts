/**
 * Open-loop load: arrivals at a rate, sent when they are due whether or not
 * earlier requests have finished, so a slow server cannot slow the offered
 * load (no coordinated omission). Each request's `ts` is its scheduled time,
 * so the client's own lateness shows as schedule lag (METRICS.md).
 *
 * At most `maxInFlight` requests are in flight; an arrival that finds the cap
 * full is yielded as dropped (no exchange), never queued silently.
 */
import type { Arrival } from '../types.js';
import { sleepUntil, systemClock } from '../util/clock.js';
import { arrivalOffsetsMs } from './arrivals.js';
import { CellBudget, inShare, shareOf, WHOLE, type CellPlan, type FinishedRequest, type SendRequest } from './cell-budget.js';
import { Channel } from './channel.js';
import type { LoopOptions } from './closed-loop.js';

export interface OpenLoopPlan extends CellPlan {
  /** Arrivals per second. */
  rate: number;
  arrival: Arrival;
  /** Gamma arrivals: the gaps' shape (default 1, Poisson). */
  burstiness?: number;
  maxInFlight: number;
  /** Uniform [0, 1) draws for poisson and gamma gaps, seeded by the caller. */
  random: () => number;
  /** Given arrival times instead of `arrival` at `rate` (a replayed trace, a rate ramp): offsets from the start, non-decreasing, ms; the cell ends after the last. */
  offsetsMs?: Iterable<number>;
}

/** When behind schedule, yield to the event loop every this many arrivals, so responses still get read. */
const YIELD_EVERY = 16;

export async function* openLoop(plan: OpenLoopPlan, send: SendRequest, options: LoopOptions = {}): AsyncGenerator<FinishedRequest> {
  const { interrupt, clock = systemClock } = options;
  const finished = new Channel<FinishedRequest>();
  const start = options.startAt ?? clock.now();
  // The budget judges every arrival of the whole cell (it reads no share), so a share's arrivals are the ones one process would send.
  // At least one warm-up arrival, so measured requests run on a warm connection (METRICS.md), a trace's or a ramp's too.
  const budget = new CellBudget(plan, 1, start);
  const share = plan.share ?? WHOLE;
  const maxInFlight = Math.max(1, shareOf(plan.maxInFlight, share));
  const inFlight = new Set<Promise<unknown>>();
  let failure: unknown;

  const schedule = async (): Promise<void> => {
    let behind = 0;
    let n = 0;
    for (const offset of plan.offsetsMs ?? arrivalOffsetsMs(plan.arrival, plan.rate, plan.random, plan.burstiness)) {
      const ts = start + offset;
      if (!inShare(n++, share)) {
        // Another share's: it still counts towards the cell's warm-up and bounds, and is not waited for.
        if (budget.next(ts) === 'done') return;
        continue;
      }
      if (ts > clock.now()) {
        behind = 0;
        try {
          await sleepUntil(clock, ts, interrupt); // never before the due time
        } catch {
          return; // interrupted while waiting
        }
      } else if (++behind % YIELD_EVERY === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (interrupt?.aborted) return;
      // The cell's bounds are judged at the scheduled time, so a late client does not lengthen the cell.
      const role = budget.next(ts);
      if (role === 'done') return;
      const { id, prompt, messages } = budget.current();
      const warmup = role === 'warmup';
      if (inFlight.size >= maxInFlight) {
        finished.push({ id, warmup, prompt, messages, ts, exchange: undefined });
        continue;
      }
      const request = send({ id, prompt, messages, ts })
        .then((exchange) => finished.push({ id, warmup, prompt, messages, ts, exchange }))
        .catch((error: unknown) => (failure ??= error))
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
  };
  schedule()
    .then(async () => {
      while (inFlight.size > 0) await Promise.all(inFlight);
    })
    .then(
      () => finished.close(failure),
      (error: unknown) => finished.close(error),
    );
  yield* finished.drain();
}
