/**
 * Exchange (raw timestamps) → RequestRecord (counted tokens, derived metrics).
 * Runs after the request ended: this is where the tokenizer works.
 */
import type { ChatMessage, Exchange, LoadLevel, OutputChunk, RequestRecord, TokenSource, Usage } from '../types.js';
import { reconcileWithUsage, tokensPerChunk, withinAllowance } from './attribution.js';
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
  const usageTotal = tokenCount(exchange.usage?.completion_tokens);
  // METRICS.md's order of trust: the server's own per-chunk counts where they pass validation, else the tokenizer.
  const choices = new Set(exchange.chunks.map((chunk) => chunk.choice)).size;
  const server = serverCounts(exchange, usageTotal, choices);
  const counted = 'chunks' in server ? server.chunks : countChunkTokens(exchange, context.tokenizer);
  const reconciled = reconcileWithUsage(
    counted.map((chunk) => chunk.tokens),
    usageTotal,
    choices,
  );
  const timed: TimedTokens[] = counted.map((chunk, i) => ({ ...chunk, tokens: reconciled.counts[i]! }));
  const inputTokens = inputTokensOf(exchange, context);

  const untimedTokens = timed.length === 0 && reconciled.mismatch !== undefined && reconciled.mismatch > 0 ? reconciled.mismatch : 0;
  const record = recordOf(exchange, context, { chunks: timed, inputTokens, untimedTokens });
  record.tokenSource =
    'chunks' in server
      ? reconciled.mismatch === undefined
        ? server.source
        : `${server.source}+usage`
      : tokenSource(timed.length > 0 || usageTotal !== undefined, context.fallback, reconciled.mismatch);
  if ('rejected' in server) record.tokenSourceReason = server.rejected;
  if (reconciled.mismatch !== undefined) record.usageMismatch = reconciled.mismatch;
  // Counts from a tokenizer that is not the model's, or scaled to the server's total, are not exact.
  if (reconciled.scaled || (!('chunks' in server) && context.fallback && timed.length > 0)) record.approximate = true;
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
    outputChars: exchange.chunks.reduce((sum, chunk) => sum + codePoints(chunk.text), 0),
  };
  if (exchange.error) record.error = exchange.error;
  if (exchange.status !== undefined) record.status = exchange.status;
  if (exchange.connectMs !== undefined) record.connectMs = exchange.connectMs;
  if (exchange.resent) record.resent = true;
  if (exchange.usage !== undefined) {
    record.usage = exchange.usage;
    const cached = cachedPromptTokensOf(exchange.usage);
    if (cached !== undefined) record.cachedPromptTokens = cached;
  }
  if (exchange.timings !== undefined) record.timings = exchange.timings;
  // Server-reported timings (the API's adapter found them): kept beside the client's, never mixed in.
  if (exchange.serverTtftMs !== undefined) record.serverTtftMs = exchange.serverTtftMs;
  if (exchange.serverE2eMs !== undefined) record.serverE2eMs = exchange.serverE2eMs;
  return record;
}

/** Code points of a text, without building an array of them: a surrogate pair is one character. */
function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) count++; // a low surrogate belongs to the high one before it
  }
  return count;
}

/**
 * Per-chunk counts the server itself gave (METRICS.md, "Counting the tokens
 * of a chunk"), used only where they pass validation: `logprobs` entries
 * (one per token) where every chunk has them, their token texts, joined,
 * equal the chunk's text, and their number is within the allowance of the
 * final usage; or the deltas of a running `usage.completion_tokens`
 * (continuous usage: one total per response, so only with a single choice)
 * where it never decreases and its last value equals the final usage. A
 * server that offered either and failed gives the reason instead.
 */
function serverCounts(
  exchange: Exchange,
  usageTotal: number | undefined,
  choices: number,
): { chunks: TimedTokens[]; source: 'logprobs' | 'continuous_usage' } | { rejected: string } | Record<string, never> {
  const chunks = exchange.chunks;
  if (chunks.length === 0) return {};
  const withLogprobs = chunks.filter((chunk) => chunk.logprobTokens !== undefined).length;
  if (withLogprobs > 0) {
    const rejected = logprobsRejection(chunks, withLogprobs, usageTotal, choices);
    if (rejected === undefined) return { chunks: chunks.map((c) => timedTokens(c, c.logprobTokens!)), source: 'logprobs' };
    return { rejected };
  }
  const withUsage = chunks.filter((chunk) => chunk.cumulativeTokens !== undefined).length;
  if (withUsage > 0) {
    const rejected = continuousUsageRejection(chunks, withUsage, usageTotal);
    if (rejected !== undefined) return { rejected };
    let previous = 0;
    const timed = chunks.map((c) => {
      const tokens = c.cumulativeTokens! - previous;
      previous = c.cumulativeTokens!;
      return timedTokens(c, tokens);
    });
    return { chunks: timed, source: 'continuous_usage' };
  }
  return {};
}

/** Why a response's logprobs cannot count its chunks, or undefined when they can. */
function logprobsRejection(chunks: readonly OutputChunk[], withLogprobs: number, usageTotal: number | undefined, choices: number): string | undefined {
  if (withLogprobs < chunks.length) return `logprobs: ${chunks.length - withLogprobs} of ${chunks.length} chunks had none`;
  // One entry per event whatever the event holds (llama.cpp) spells the text right and counts wrong: the total tells.
  const entries = chunks.reduce((sum, chunk) => sum + chunk.logprobTokens!, 0);
  if (usageTotal !== undefined && !withinAllowance(usageTotal - entries, choices)) {
    return `logprobs: ${entries} entries for the ${usageTotal} tokens of the final usage`;
  }
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    if (chunk.logprobText === undefined) return `logprobs: chunk ${i + 1}'s entries carry no token text to check them by`;
    if (chunk.logprobText !== chunk.text) {
      return `logprobs: chunk ${i + 1}'s ${chunk.logprobTokens} entr${chunk.logprobTokens === 1 ? 'y spells' : 'ies spell'} ${JSON.stringify(clip(chunk.logprobText))}, its text is ${JSON.stringify(clip(chunk.text))}`;
    }
  }
  return undefined;
}

/** Why a response's continuous usage cannot count its chunks, or undefined when it can. */
function continuousUsageRejection(chunks: readonly OutputChunk[], withUsage: number, usageTotal: number | undefined): string | undefined {
  if (withUsage < chunks.length) return `continuous usage: ${chunks.length - withUsage} of ${chunks.length} chunks had none`;
  if (chunks.some((chunk) => chunk.choice !== chunks[0]!.choice)) return 'continuous usage: one running total for several choices';
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i]!.cumulativeTokens! < chunks[i - 1]!.cumulativeTokens!) {
      return `continuous usage: fell from ${chunks[i - 1]!.cumulativeTokens} to ${chunks[i]!.cumulativeTokens} at chunk ${i + 1}`;
    }
  }
  const last = chunks.at(-1)!.cumulativeTokens!;
  if (usageTotal === undefined) return 'continuous usage: no final usage to check it against';
  if (last !== usageTotal) return `continuous usage: its last value ${last} is not the final usage ${usageTotal}`;
  return undefined;
}

const clip = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

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

/**
 * Prompt tokens served from the server's prefix cache, wherever its API
 * reports them: chat and completions' `prompt_tokens_details.cached_tokens`,
 * Responses' `input_tokens_details.cached_tokens`, Messages'
 * `cache_read_input_tokens`.
 */
function cachedPromptTokensOf(usage: Usage): number | undefined {
  const details = (value: unknown): number | undefined =>
    value !== null && typeof value === 'object' ? tokenCount((value as { cached_tokens?: unknown }).cached_tokens) : undefined;
  return details(usage.prompt_tokens_details) ?? details(usage.input_tokens_details) ?? tokenCount(usage.cache_read_input_tokens);
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
