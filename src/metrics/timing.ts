/**
 * Per-request metrics from raw timestamps and per-chunk token counts, exactly
 * as METRICS.md defines them. Pure; a metric that does not exist for a request
 * is `undefined`, never zero.
 */
import type { RequestMetrics } from '../types.js';

/** A chunk as the timing code needs it: arrival time, token count, choice. */
export interface TimedTokens {
  /** performance.now() at arrival, ms. */
  at: number;
  tokens: number;
  choice: number;
}

export interface RequestTimeline {
  ts: number;
  t0: number;
  tb?: number;
  tEnd: number;
  /** All output chunks in arrival order, with their token counts. */
  chunks: readonly TimedTokens[];
  inputTokens?: number;
}

export function requestMetrics(timeline: RequestTimeline): RequestMetrics {
  const { ts, t0, tb, tEnd } = timeline;
  const tokenChunks = timeline.chunks.filter((chunk) => chunk.tokens >= 1);
  const outputTokens = tokenChunks.reduce((sum, chunk) => sum + chunk.tokens, 0);
  const e2eMs = tEnd - t0;

  const metrics: RequestMetrics = {
    scheduleLagMs: t0 - ts,
    e2eMs,
    itl: [],
    chunkGapsMs: [],
    tokensPerChunk: tokenChunks.map((chunk) => chunk.tokens),
    chunkTimesMs: tokenChunks.map((chunk) => chunk.at - t0),
    outputTokens,
  };
  if (tb !== undefined) metrics.ttfbMs = tb - t0;
  if (timeline.inputTokens !== undefined) metrics.inputTokens = timeline.inputTokens;
  if (tokenChunks.length === 0) return metrics;

  metrics.ttftMs = Math.min(...firstPerChoice(tokenChunks).map((chunk) => chunk.at)) - t0;
  if (e2eMs > 0) metrics.outputTokensPerS = (outputTokens * 1000) / e2eMs;

  // Each choice is its own token stream (METRICS.md): decode time and tokens add up across choices.
  let decodeMs = 0;
  let decodeTokens = 0;
  for (const chunks of byChoice(tokenChunks).values()) {
    const first = chunks[0]!;
    const last = chunks[chunks.length - 1]!;
    decodeMs += last.at - first.at;
    for (let i = 1; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const gapMs = chunk.at - chunks[i - 1]!.at;
      decodeTokens += chunk.tokens;
      metrics.chunkGapsMs.push(gapMs);
      metrics.itl.push({ gapPerTokenMs: gapMs / chunk.tokens, tokens: chunk.tokens });
    }
  }
  if (decodeTokens > 0) {
    metrics.tpotMs = decodeMs / decodeTokens;
    if (decodeMs > 0) metrics.decodeTokensPerS = (decodeTokens * 1000) / decodeMs;
  }
  return metrics;
}

function byChoice(chunks: readonly TimedTokens[]): Map<number, TimedTokens[]> {
  const choices = new Map<number, TimedTokens[]>();
  for (const chunk of chunks) {
    let list = choices.get(chunk.choice);
    if (!list) choices.set(chunk.choice, (list = []));
    list.push(chunk);
  }
  return choices;
}

function firstPerChoice(chunks: readonly TimedTokens[]): TimedTokens[] {
  return [...byChoice(chunks).values()].map((list) => list[0]!);
}
