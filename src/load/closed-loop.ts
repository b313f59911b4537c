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
import { CellBudget, inShare, shareOf, WHOLE, type CellPlan, type FinishedRequest, type SendRequest } from './cell-budget.js';
import { Channel } from './channel.js';

export interface ClosedLoopPlan extends CellPlan {
  concurrency: number;
}

export interface LoopOptions {
  /** Aborting it stops the loop: nothing new is sent. */
  interrupt?: AbortSignal;
  /** The time the cell's bounds are judged on (default: the system clock). */
  clock?: Clock;
  /**
   * When the cell began, on `clock` (default: when the loop starts): the start of its warm-up time
   * and of an open loop's schedule. The loops of one cell's shares pass the same, so their schedules are one.
   */
  startAt?: number;
  /**
   * Multi-turn sessions: the model's sessions started so far in the run, which this cell's continue
   * (default: a count of its own, from 0).
   */
  sessions?: SessionCursor;
}

/**
 * The sessions of one model a process has started in a run, across its cells and repeats: each new
 * session takes the next conversation, so none is sent twice while the prompts last (a server's
 * prefix cache would serve a repeated first turn, and turn 1's TTFT would not be a cold one).
 */
export interface SessionCursor {
  started: number;
}

export async function* closedLoop(plan: ClosedLoopPlan, send: SendRequest, options: LoopOptions = {}): AsyncGenerator<FinishedRequest> {
  const { interrupt, clock = systemClock } = options;
  const finished = new Channel<FinishedRequest>();
  // A share sends from its slots (numbered as in the whole cell) its part of the warm-up and measured requests.
  const { slots, plan: slotsOwn } = shareSlots(plan);
  const budget = new CellBudget(slotsOwn, slots.length, options.startAt ?? clock.now());

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
  Promise.all(slots.map(slot)).then(
    () => finished.close(),
    (error: unknown) => finished.close(error),
  );
  yield* finished.drain();
}

/** The slots of the plan's share (numbered as in the whole cell), and the plan of their part of the cell (slotsPlan). */
export function shareSlots<P extends CellPlan & { concurrency: number }>(plan: P): { slots: number[]; plan: P } {
  const share = plan.share ?? WHOLE;
  const slots = Array.from({ length: plan.concurrency }, (_, slot) => slot).filter((slot) => inShare(slot, share));
  return { slots, plan: slotsPlan(plan, slots) };
}

/**
 * The plan of some of the cell's slots: the counts (warm-up, measured requests) dealt over all the
 * cell's slots, and these slots' parts added; times stay the cell's.
 */
function slotsPlan<P extends CellPlan & { concurrency: number }>(plan: P, slots: readonly number[]): P {
  if (slots.length === plan.concurrency) return plan;
  const part = (total: number) => slots.reduce((sum, slot) => sum + shareOf(total, { index: slot, count: plan.concurrency }), 0);
  return {
    ...plan,
    ...(plan.warmup !== undefined ? { warmup: part(plan.warmup) } : {}),
    ...(plan.requests !== undefined ? { requests: part(plan.requests) } : {}),
  };
}
