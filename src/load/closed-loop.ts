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
import { performance } from 'node:perf_hooks';
import type { ChatMessage, Exchange, Prompt } from '../types.js';
import { Channel } from './channel.js';

export interface OutgoingRequest {
  id: string;
  /** Index into the prompts. */
  prompt: number;
  messages: ChatMessage[];
  /** When the scheduler meant to send it (performance.now(), ms); undefined in a closed loop, which has no schedule. */
  ts?: number;
}

export type SendRequest = (request: OutgoingRequest) => Promise<Exchange>;

/** What every load loop needs to know about a cell. */
export interface CellPlan {
  /** Warm-up requests (closed loop: raised to one per slot). */
  warmup?: number;
  /** Warm-up time, ms: requests sent before it ends are warm-up. */
  warmupMs?: number;
  /** Measured requests; with durationMs, whichever ends first. */
  requests?: number;
  /** Measured time, ms, from the first measured send. */
  durationMs?: number;
  prompts: readonly Prompt[];
  /** Request ids are `${idPrefix}-${n}`. */
  idPrefix: string;
}

export interface ClosedLoopPlan extends CellPlan {
  concurrency: number;
}

export interface FinishedRequest {
  id: string;
  warmup: boolean;
  /** Index into the prompts. */
  prompt: number;
  messages: ChatMessage[];
  /** When it was due to be sent (performance.now(), ms). */
  ts: number;
  /** What came back; undefined when the request was dropped at the in-flight cap and never sent (open loop). */
  exchange: Exchange | undefined;
}

/** Decides, send by send, whether the next request is warm-up, measured, or past the cell's end. */
export class CellClock {
  private sent = 0;
  private measured = 0;
  private readonly startedAt: number;
  private measureStart: number | undefined;

  constructor(
    private readonly plan: CellPlan,
    private readonly minWarmup: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  /** The next send's role at time `at`, or 'done' when the cell has ended. */
  next(at: number = this.now()): 'warmup' | 'measured' | 'done' {
    const { warmup, warmupMs, requests, durationMs } = this.plan;
    const inWarmup =
      this.measureStart === undefined &&
      (this.sent < Math.max(warmup ?? 0, this.minWarmup) || (warmupMs !== undefined && at < this.startedAt + warmupMs));
    if (inWarmup) {
      this.sent++;
      return 'warmup';
    }
    this.measureStart ??= at;
    if (requests !== undefined && this.measured >= requests) return 'done';
    if (durationMs !== undefined && at >= this.measureStart + durationMs) return 'done';
    this.sent++;
    this.measured++;
    return 'measured';
  }

  /**
   * The request just allowed by next(): its id, and its prompt, taken in turn so
   * every model and load level sends the same prompts in the same order.
   */
  current(): { id: string; prompt: number; messages: ChatMessage[] } {
    const n = this.sent - 1;
    const prompt = n % this.plan.prompts.length;
    return { id: `${this.plan.idPrefix}-${n}`, prompt, messages: this.plan.prompts[prompt]!.messages };
  }
}

export async function* closedLoop(plan: ClosedLoopPlan, send: SendRequest, interrupt?: AbortSignal): AsyncGenerator<FinishedRequest> {
  const finished = new Channel<FinishedRequest>();
  const clock = new CellClock(plan, plan.concurrency);

  const slot = async (): Promise<void> => {
    for (;;) {
      if (interrupt?.aborted) return; // never sent, so never recorded
      const role = clock.next();
      if (role === 'done') return;
      const { id, prompt, messages } = clock.current();
      // A closed loop has no schedule: no ts, so the client takes ts = t0 (METRICS.md).
      const exchange = await send({ id, prompt, messages });
      finished.push({ id, warmup: role === 'warmup', prompt, messages, ts: exchange.ts, exchange });
    }
  };
  Promise.all(Array.from({ length: plan.concurrency }, slot)).then(
    () => finished.close(),
    (error: unknown) => finished.close(error),
  );
  yield* finished.drain();
}
