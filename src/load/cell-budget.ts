/**
 * What every load loop shares: the requests it sends and yields, and the
 * budget that decides, send by send, whether the next request is warm-up,
 * measured, or past the cell's end.
 */
import type { ChatMessage, Exchange, Prompt } from '../types.js';

export interface OutgoingRequest {
  id: string;
  /** Index into the prompts. */
  prompt: number;
  messages: ChatMessage[];
  /** When the scheduler meant to send it (the clock's time, ms); undefined in a closed loop, which has no schedule. */
  ts?: number;
  /** Multi-turn sessions: its turn in the session, 1-based (its body parameters are that turn's). */
  turn?: number;
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
  /** The part of the cell this loop sends, when the cell is split over workers or shards (default: all of it). */
  share?: Share;
}

/**
 * One of `count` disjoint parts of a cell (a worker's, a shard's): the slots
 * (closed loop) or arrivals (open loop) whose index is `index` modulo
 * `count`, and its part of every count the cell has (warm-up, requests, the
 * in-flight cap). The parts together are the cell one process would send.
 */
export interface Share {
  index: number;
  count: number;
}

/** The whole cell: the share of a loop that is not split. */
export const WHOLE: Share = { index: 0, count: 1 };

/** A share's part of `total` items dealt in turn: the first `total % count` shares get one more. */
export function shareOf(total: number, share: Share): number {
  return Math.floor(total / share.count) + (share.index < total % share.count ? 1 : 0);
}

/** Whether item `n` (a slot, an arrival) of the cell is the share's. */
export const inShare = (n: number, share: Share): boolean => n % share.count === share.index;

/** The share `inner` of the share `outer` (a worker of a shard) as one share of the whole cell. */
export function nestedShare(outer: Share, inner: Share): Share {
  // Item n is outer's k-th (n = outer.index + outer.count·k), and inner's when k ≡ inner.index (mod inner.count).
  return { index: outer.index + outer.count * inner.index, count: outer.count * inner.count };
}

export interface FinishedRequest {
  id: string;
  warmup: boolean;
  /** Index into the prompts. */
  prompt: number;
  messages: ChatMessage[];
  /** When it was due to be sent (the clock's time, ms). */
  ts: number;
  /** Closed loop: the slot (0…c−1) that sent it. */
  slot?: number;
  /** Multi-turn sessions: the session's id, and this request's turn in it (1-based). */
  session?: string;
  turn?: number;
  /** What came back; undefined when the request was dropped at the in-flight cap and never sent (open loop). */
  exchange: Exchange | undefined;
}

/** Decides, send by send, whether the next request is warm-up, measured, or past the cell's end. */
export class CellBudget {
  private sent = 0;
  private measured = 0;
  private measureStart: number | undefined;

  /** `startedAt`: when the cell began (the clock's time, ms), from which a warm-up time counts. */
  constructor(
    private readonly plan: CellPlan,
    private readonly minWarmup: number,
    private readonly startedAt: number,
  ) {}

  /** The role of a send at time `at`, or 'done' when the cell has ended. */
  next(at: number): 'warmup' | 'measured' | 'done' {
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
