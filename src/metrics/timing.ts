/**
 * Per-request metrics from raw timestamps and per-chunk token counts, exactly
 * as METRICS.md defines them. Pure; a metric that does not exist for a request
 * is `undefined`, never zero.
 */
import type { RequestMetrics } from '../types.js';

/** A chunk as the timing code needs it: arrival time, token count, choice. */
export interface TimedTokens {
  /** Arrival on the client's clock, ms. */
  at: number;
  tokens: number;
  choice: number;
  /** Reasoning, not answer: counts for TTFT, not for TTFO. */
  reasoning?: boolean;
}

export interface RequestTimeline {
  ts: number;
  t0: number;
  tb?: number;
  tEnd: number;
  /** All output chunks in arrival order, with their token counts. */
  chunks: readonly TimedTokens[];
  inputTokens?: number;
  /**
   * Tokens the server's usage reports that no chunk carried (a reply of tool
   * calls or a refusal only): in N and output tokens/s, never in TTFT or TPOT.
   */
  untimedTokens?: number;
}

export function requestMetrics(timeline: RequestTimeline): RequestMetrics {
  const { ts, t0, tb, tEnd } = timeline;
  const tokenChunks = timeline.chunks.filter((chunk) => chunk.tokens >= 1);
  const outputTokens = tokenChunks.reduce((sum, chunk) => sum + chunk.tokens, 0) + (timeline.untimedTokens ?? 0);
  const e2eMs = tEnd - t0;

  const metrics: RequestMetrics = {
    scheduleLagMs: t0 - ts,
    scheduledE2eMs: tEnd - ts,
    e2eMs,
    itl: [],
    chunkGapsMs: [],
    tokensPerChunk: tokenChunks.map((chunk) => chunk.tokens),
    chunkTimesMs: tokenChunks.map((chunk) => chunk.at - t0),
    chunkChoices: tokenChunks.map((chunk) => chunk.choice),
    outputTokens,
    reasoningTokens: tokenChunks.reduce((sum, chunk) => sum + (chunk.reasoning ? chunk.tokens : 0), 0),
  };
  if (tb !== undefined) metrics.ttfbMs = tb - t0;
  if (timeline.inputTokens !== undefined) metrics.inputTokens = timeline.inputTokens;
  if (e2eMs > 0 && outputTokens > 0) metrics.outputTokensPerS = (outputTokens * 1000) / e2eMs;
  if (tokenChunks.length === 0) return metrics;

  metrics.ttftMs = Math.min(...[...groupByChoice(tokenChunks).values()].map((chunks) => chunks[0]!.at)) - t0;
  metrics.scheduledTtftMs = metrics.ttftMs + (t0 - ts);
  const firstAnswer = tokenChunks.find((chunk) => !chunk.reasoning);
  if (firstAnswer) metrics.ttfoMs = firstAnswer.at - t0;

  // Each choice is its own token stream (METRICS.md): decode time and tokens add up across choices.
  let decodeMs = 0;
  let decodeTokens = 0;
  const choices = groupByChoice(tokenChunks);
  if (choices.size > 1) metrics.perChoice = [];
  for (const [choice, chunks] of choices) {
    const first = chunks[0]!;
    const last = chunks[chunks.length - 1]!;
    decodeMs += last.at - first.at;
    if (metrics.perChoice) {
      const tokens = chunks.reduce((sum, chunk) => sum + chunk.tokens, 0);
      const stream: NonNullable<RequestMetrics['perChoice']>[number] = { choice, outputTokens: tokens, ttftMs: first.at - t0 };
      if (tokens > first.tokens) stream.tpotMs = (last.at - first.at) / (tokens - first.tokens);
      metrics.perChoice.push(stream);
    }
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

/** Items grouped by their choice index, in order: each choice is its own token stream. */
export function groupByChoice<T extends { choice: number }>(items: readonly T[]): Map<number, T[]> {
  const choices = new Map<number, T[]>();
  for (const item of items) {
    let list = choices.get(item.choice);
    if (!list) choices.set(item.choice, (list = []));
    list.push(item);
  }
  return choices;
}
