/**
 * Exchange (raw timestamps) → RequestRecord (counted tokens, derived metrics).
 * Runs after the request ended: this is where the tokenizer works.
 */
import type { ChatMessage, Exchange, LoadLevel, OutputChunk, RequestRecord, TokenSource } from '../types.js';
import { reconcileWithUsage, tokensPerChunk } from './attribution.js';
import { groupByChoice, requestMetrics, type RequestTimeline, type TimedTokens } from './timing.js';
import type { Tokenizer } from './tokenizers.js';

export interface RecordContext {
  model: string;
  load: LoadLevel;
  warmup: boolean;
  prompt: number;
  messages: ChatMessage[];
  tokenizer: Tokenizer;
  /** The tokenizer is the named fallback, not the model's own. */
  fallback: boolean;
}

export function toRequestRecord(exchange: Exchange, context: RecordContext): RequestRecord {
  if (exchange.streamed === false) return nonStreamingRecord(exchange, context);
  // METRICS.md's order of trust: the server's own per-chunk counts, else the tokenizer.
  const server = serverCounts(exchange);
  const chunks = server?.chunks ?? countChunkTokens(exchange, context.tokenizer);
  const usageTotal = tokenCount(exchange.usage?.completion_tokens);
  const reconciled = reconcileWithUsage(
    chunks.map((chunk) => chunk.tokens),
    usageTotal,
  );
  const timed: TimedTokens[] = chunks.map((chunk, i) => ({ ...chunk, tokens: reconciled.counts[i]! }));
  const inputTokens = inputTokensOf(exchange, context);

  const untimedTokens = timed.length === 0 && reconciled.mismatch !== undefined && reconciled.mismatch > 0 ? reconciled.mismatch : 0;
  const record = recordOf(exchange, context, { chunks: timed, inputTokens, untimedTokens });
  record.tokenSource = server
    ? reconciled.mismatch === undefined
      ? server.source
      : `${server.source}+usage`
    : tokenSource(timed.length > 0 || usageTotal !== undefined, context.fallback, reconciled.mismatch);
  if (reconciled.mismatch !== undefined) record.usageMismatch = reconciled.mismatch;
  return record;
}

/**
 * A non-streaming response: E2E and tokens/s only. Its text arrived at once,
 * so TTFT and TPOT do not exist (undefined, never zero). N is the server's
 * usage total, else the tokenizer's count.
 */
function nonStreamingRecord(exchange: Exchange, context: RecordContext): RequestRecord {
  const counted = countChunkTokens(exchange, context.tokenizer);
  const tokenizerTotal = counted.reduce((sum, chunk) => sum + chunk.tokens, 0);
  const usageTotal = tokenCount(exchange.usage?.completion_tokens);
  const record = recordOf(exchange, context, { chunks: [], inputTokens: inputTokensOf(exchange, context), untimedTokens: usageTotal ?? tokenizerTotal });
  record.metrics.reasoningTokens = counted.reduce((sum, chunk) => sum + (chunk.reasoning ? chunk.tokens : 0), 0);
  record.tokenSource = usageTotal !== undefined ? 'usage' : tokenSource(counted.length > 0, context.fallback, undefined);
  if (usageTotal !== undefined && usageTotal !== tokenizerTotal) record.usageMismatch = usageTotal - tokenizerTotal;
  return record;
}

function inputTokensOf(exchange: Exchange, context: RecordContext): number {
  return (
    tokenCount(exchange.usage?.prompt_tokens) ??
    context.tokenizer.encode(context.messages.map((message) => message.content).join('\n')).length
  );
}

/** The record of an exchange, given its counted chunks: everything but the token source. */
function recordOf(
  exchange: Exchange,
  context: RecordContext,
  counted: Pick<RequestTimeline, 'chunks' | 'inputTokens' | 'untimedTokens'>,
): RequestRecord {
  const timeline: RequestTimeline = { ts: exchange.ts, t0: exchange.t0, tEnd: exchange.tEnd, ...counted };
  if (exchange.tb !== undefined) timeline.tb = exchange.tb;
  const record: RequestRecord = {
    id: exchange.id,
    model: context.model,
    load: context.load,
    warmup: context.warmup,
    prompt: context.prompt,
    outcome: exchange.error ? 'error' : 'ok',
    metrics: requestMetrics(timeline),
    tokenSource: 'none',
    tokenizer: context.tokenizer.name,
  };
  if (exchange.error) record.error = exchange.error;
  if (exchange.status !== undefined) record.status = exchange.status;
  if (exchange.connectMs !== undefined) record.connectMs = exchange.connectMs;
  if (exchange.resent) record.resent = true;
  if (exchange.usage !== undefined) record.usage = exchange.usage;
  // Server-reported timings (the API's adapter found them): kept beside the client's, never mixed in.
  if (exchange.serverTtftMs !== undefined) record.serverTtftMs = exchange.serverTtftMs;
  if (exchange.serverE2eMs !== undefined) record.serverE2eMs = exchange.serverE2eMs;
  return record;
}

/**
 * Per-chunk counts the server itself gave, when every chunk has them:
 * `logprobs.content` entries (one per token), or the deltas of a running
 * `usage.completion_tokens` (continuous usage: one total per response, so
 * only with a single choice).
 */
function serverCounts(exchange: Exchange): { chunks: TimedTokens[]; source: 'logprobs' | 'continuous_usage' } | undefined {
  const chunks = exchange.chunks;
  if (chunks.length === 0) return undefined;
  if (chunks.every((chunk) => chunk.logprobTokens !== undefined)) {
    return { chunks: chunks.map((c) => timedTokens(c, c.logprobTokens!)), source: 'logprobs' };
  }
  if (chunks.every((chunk) => chunk.cumulativeTokens !== undefined && chunk.choice === chunks[0]!.choice)) {
    let previous = 0;
    const timed = chunks.map((c) => {
      const tokens = Math.max(0, c.cumulativeTokens! - previous);
      previous = Math.max(previous, c.cumulativeTokens!);
      return timedTokens(c, tokens);
    });
    return { chunks: timed, source: 'continuous_usage' };
  }
  return undefined;
}

function timedTokens(chunk: OutputChunk, tokens: number): TimedTokens {
  const timed: TimedTokens = { at: chunk.at, tokens, choice: chunk.choice };
  if (chunk.reasoning) timed.reasoning = true;
  return timed;
}

/** Token counts per output chunk, each choice tokenized as its own text. */
function countChunkTokens(exchange: Exchange, tokenizer: Tokenizer): TimedTokens[] {
  const timed: TimedTokens[] = exchange.chunks.map((chunk) => timedTokens(chunk, 0));
  const indexed = exchange.chunks.map((chunk, index) => ({ choice: chunk.choice, text: chunk.text, index }));
  for (const chunks of groupByChoice(indexed).values()) {
    const counts = tokensPerChunk(
      chunks.map((chunk) => chunk.text),
      tokenizer,
    );
    chunks.forEach((chunk, j) => (timed[chunk.index]!.tokens = counts[j]!));
  }
  return timed;
}

/**
 * The record of a request whose tokens could not be counted (a tokenizer
 * failure): an error record with its timestamps, so nothing is lost and no
 * metric is computed from a guess.
 */
export function uncountedRecord(exchange: Exchange, context: RecordContext, failure: Error): RequestRecord {
  const record = recordOf(exchange, context, { chunks: [] });
  record.outcome = 'error';
  record.error = {
    class: 'bad_response',
    message: `tokenmeter could not count the tokens of this response: ${failure.message}`.slice(0, 300),
  };
  return record;
}

function tokenSource(anything: boolean, fallback: boolean, mismatch: number | undefined): TokenSource {
  if (!anything) return 'none';
  const base = fallback ? 'fallback' : 'tokenizer';
  return mismatch === undefined ? base : `${base}+usage`;
}

/** A token count as a server should report it; anything else is ignored, never trusted. */
function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * An open-loop arrival that found `maxInFlight` requests in flight: never
 * sent, so it has no timings beyond its scheduled time, but it is recorded.
 */
export function droppedRecord(id: string, ts: number, context: Omit<RecordContext, 'messages' | 'fallback'>): RequestRecord {
  return {
    id,
    model: context.model,
    load: context.load,
    warmup: context.warmup,
    prompt: context.prompt,
    outcome: 'dropped',
    metrics: requestMetrics({ ts, t0: ts, tEnd: ts, chunks: [] }),
    tokenSource: 'none',
    tokenizer: context.tokenizer.name,
  };
}
