/**
 * The steady-state throughput window of a cell (METRICS.md, "Per run"), and
 * what was served inside it. Pure: requests in, numbers out.
 *
 * Closed loop: from the first measured t0 until the first slot runs out of
 * measured work, i.e. the earliest among each slot's last end. Until then
 * every slot has a request in flight (a slot sends its next request as soon as
 * its previous one ended, and the first measured request is sent only after
 * every slot's first warm-up request), so the server carries exactly `c`
 * streams; from then on fewer, and what follows is the ramp-down of the last
 * wave. Open loop: from the first to the last measured arrival time ts.
 *
 * Multi-turn sessions (load/session-loop.ts) take the closed-loop rule as it
 * is, with sessions for streams: a slot holds its session while it thinks
 * between turns and starts the next session as soon as one ends, so until
 * the earliest among each slot's last end exactly `c` sessions are in flight.
 *
 * Inside the window, whichever request they belong to (warm-up and late ones
 * load the server too): output tokens whose chunks arrived, requests that
 * ended successfully, and of those the ones that met the SLO.
 */
import type { LoadKind, RequestMetrics } from '../types.js';
import { roundedText } from '../util/format.js';

/** One request as the window sees it: raw times on the client's clock, ms. */
export interface WindowRequest {
  /** Warm-up requests never bound the window; their tokens and ends inside it count. */
  warmup: boolean;
  /** False for an open-loop arrival dropped at maxInFlight: it has an arrival time, nothing else. */
  sent: boolean;
  /** Ended successfully. */
  ok: boolean;
  /** Met every per-request SLO bound (undefined without an SLO). */
  metSlo?: boolean;
  /** When it was due (open loop), ms. */
  ts: number;
  /** Just before it was written, ms. */
  t0: number;
  /** End of its stream, ms. */
  tEnd: number;
  /** Closed loop: the slot that sent it. Requests without one count as one slot (the window then ends at the last end). */
  slot?: number;
  /** Arrival time (ms) and tokens of each chunk that carried tokens; tokens no chunk carried arrive at tEnd. */
  tokens: readonly { at: number; tokens: number }[];
}

/**
 * When each of a request's output tokens arrived: each chunk's tokens at chunkAt(its time from t0, ms), and
 * tokens no chunk carried (a non-streamed reply, usage beyond the chunks) at endAt, with the end of the response.
 * The caller maps times onto its own clock.
 */
export function tokenArrivals(
  metrics: Pick<RequestMetrics, 'outputTokens' | 'tokensPerChunk' | 'chunkTimesMs'>,
  chunkAt: (chunkMs: number) => number,
  endAt: number,
): { at: number; tokens: number }[] {
  const tokens = metrics.tokensPerChunk.map((count, i) => ({ at: chunkAt(metrics.chunkTimesMs[i]!), tokens: count }));
  const untimed = metrics.outputTokens - metrics.tokensPerChunk.reduce((sum, count) => sum + count, 0);
  if (untimed > 0) tokens.push({ at: endAt, tokens: untimed });
  return tokens;
}

/** A window on the client's clock: (startMs, endMs], ms. */
export interface ThroughputWindow {
  startMs: number;
  endMs: number;
  /**
   * False when the cell has no steady state (the rule above gives an empty window: a single
   * measured arrival, or no measured request at all); the window is then the first measured t0 to
   * the last measured end, and the cell is short.
   */
  steady: boolean;
}

/** What was served inside a window. */
export interface WindowCounts {
  windowMs: number;
  /** Output tokens whose chunks arrived inside the window. */
  outputTokens: number;
  /** Requests that ended successfully inside the window. */
  okRequests: number;
  /** Of those, the ones that met every per-request SLO bound. */
  goodRequests: number;
}

/**
 * The steady-state window of a cell's requests (warm-up ones included: they
 * tell when each slot's work ended); undefined when nothing measured was sent.
 */
export function steadyStateWindow(kind: LoadKind, requests: readonly WindowRequest[]): ThroughputWindow | undefined {
  const measured = requests.filter((r) => !r.warmup);
  const sentMeasured = measured.filter((r) => r.sent);
  if (sentMeasured.length === 0) return undefined;
  let startMs: number;
  let endMs: number;
  if (kind === 'rate') {
    // A dropped arrival is an arrival too: it was due, the load was offered.
    startMs = least(measured, (r) => r.ts);
    endMs = greatest(measured, (r) => r.ts);
  } else {
    startMs = least(sentMeasured, (r) => r.t0);
    const lastEndBySlot = new Map<number | undefined, number>();
    for (const r of requests) {
      if (r.sent) lastEndBySlot.set(r.slot, Math.max(lastEndBySlot.get(r.slot) ?? -Infinity, r.tEnd));
    }
    endMs = least([...lastEndBySlot.values()], (end) => end);
  }
  if (endMs > startMs) return { startMs, endMs, steady: true };
  // No steady state to speak of: the span of the measured requests, so the cell still has a rate (marked short).
  return {
    startMs: least(sentMeasured, (r) => r.t0),
    endMs: greatest(sentMeasured, (r) => r.tEnd),
    steady: false,
  };
}

/** Tokens that arrived, and requests that ended, inside (startMs, endMs]: from any request, warm-up included. */
export function countInWindow(window: ThroughputWindow | undefined, requests: readonly WindowRequest[]): WindowCounts {
  const counts: WindowCounts = { windowMs: 0, outputTokens: 0, okRequests: 0, goodRequests: 0 };
  if (!window || window.endMs <= window.startMs) return counts;
  const inside = (at: number): boolean => at > window.startMs && at <= window.endMs;
  counts.windowMs = window.endMs - window.startMs;
  for (const r of requests) {
    for (const chunk of r.tokens) if (inside(chunk.at)) counts.outputTokens += chunk.tokens;
    if (r.ok && inside(r.tEnd)) {
      counts.okRequests++;
      if (r.metSlo) counts.goodRequests++;
    }
  }
  return counts;
}

/** Below this many measured requests per slot, a closed-loop cell's throughput is mostly ramp (METRICS.md). */
export const MIN_REQUESTS_PER_SLOT = 3;
/** Below this many median E2E latencies, a window is mostly ramp (METRICS.md). */
export const MIN_WINDOW_E2ES = 5;

/**
 * Why a cell's window is too short for its throughput to mean much, or
 * undefined when it is long enough: fewer than 3 measured requests per slot
 * (closed loop), a window shorter than 5 median E2E latencies, or no steady state.
 */
export function shortWindowReason(facts: {
  kind: LoadKind;
  /** Concurrency, in closed loop. */
  slots: number;
  /** Measured requests (warm-up excluded). */
  measured: number;
  window: ThroughputWindow | undefined;
  /** Median E2E of the measured successful requests, ms. */
  e2eP50Ms: number | undefined;
}): string | undefined {
  const { kind, slots, measured, window, e2eP50Ms } = facts;
  if (!window) return undefined;
  const reasons: string[] = [];
  if (!window.steady) reasons.push('no steady state (the window is the span of the measured requests)');
  if (kind === 'concurrency' && slots > 0 && measured / slots < MIN_REQUESTS_PER_SLOT) {
    reasons.push(`${roundedText(measured / slots, 1)} measured requests per slot < ${MIN_REQUESTS_PER_SLOT}`);
  }
  const windowMs = window.endMs - window.startMs;
  if (e2eP50Ms !== undefined && e2eP50Ms > 0 && windowMs < MIN_WINDOW_E2ES * e2eP50Ms) {
    reasons.push(`window ${roundedText(windowMs, 1)} ms < ${MIN_WINDOW_E2ES} × median E2E ${roundedText(e2eP50Ms, 1)} ms`);
  }
  return reasons.length > 0 ? `${reasons.join(', ')}: its throughput is mostly ramp` : undefined;
}

/** The least of `valueOf` over `items`, in one pass (a spread into Math.min overflows the stack past ~100k requests). */
function least<T>(items: readonly T[], valueOf: (item: T) => number): number {
  let min = Infinity;
  for (const item of items) min = Math.min(min, valueOf(item));
  return min;
}

/** The greatest of `valueOf` over `items`, in one pass. */
function greatest<T>(items: readonly T[], valueOf: (item: T) => number): number {
  let max = -Infinity;
  for (const item of items) max = Math.max(max, valueOf(item));
  return max;
}
