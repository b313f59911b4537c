/**
 * Closed-loop load: `concurrency` slots, each sending its next request as
 * soon as its previous one ended. The warm-up requests go first, at least one
 * per slot, so every measured request runs on a warm connection (METRICS.md,
 * "Connections"). Measurement ends after `requests` measured sends or
 * `durationMs` of measured time, whichever comes first; requests in flight then
 * finish and are recorded.
 *
 * Yields each finished request; aggregates nothing.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { CellBudget, type CellPlan, type FinishedRequest, type SendRequest } from './cell-budget.js';
import { Channel } from './channel.js';

export interface ClosedLoopPlan extends CellPlan {
  concurrency: number;
}

export interface LoopOptions {
  /** Aborting it stops the loop: nothing new is sent. */
  interrupt?: AbortSignal;
  /** The time the cell's bounds are judged on (default: the system clock). */
  clock?: Clock;
}

export async function* closedLoop(plan: ClosedLoopPlan, send: SendRequest, options: LoopOptions = {}): AsyncGenerator<FinishedRequest> {
  const { interrupt, clock = systemClock } = options;
  const finished = new Channel<FinishedRequest>();
  const budget = new CellBudget(plan, plan.concurrency, clock.now());

  const slot = async (slot: number): Promise<void> => {
    for (;;) {
      if (interrupt?.aborted) return; // never sent, so never recorded
      const role = budget.next(clock.now());
      if (role === 'done') return;
      const { id, prompt, messages } = budget.current();
      // A closed loop has no schedule: no ts, so the client takes ts = t0 (METRICS.md).
      const exchange = await send({ id, prompt, messages });
      finished.push({ id, warmup: role === 'warmup', prompt, messages, ts: exchange.ts, slot, exchange });
    }
  };
  Promise.all(Array.from({ length: plan.concurrency }, (_, i) => slot(i))).then(
    () => finished.close(),
    (error: unknown) => finished.close(error),
  );
  yield* finished.drain();
}
