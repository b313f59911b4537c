/**
 * Exchange (raw timestamps) → RequestRecord (counted tokens, derived metrics).
 * Runs after the request ended: this is where the tokenizer works.
 */
import type { ChatMessage, Exchange, RequestRecord, TokenSource } from '../types.js';
import { reconcileWithUsage, tokensPerChunk } from './attribution.js';
import { requestMetrics, type TimedTokens } from './timing.js';
import type { Tokenizer } from './tokenizers.js';

export interface RecordContext {
  model: string;
  concurrency: number;
  warmup: boolean;
  prompt: number;
  messages: ChatMessage[];
  tokenizer: Tokenizer;
  /** The tokenizer is the named fallback, not the model's own. */
  fallback: boolean;
}

export function toRequestRecord(exchange: Exchange, context: RecordContext): RequestRecord {
  const chunks = countChunkTokens(exchange, context.tokenizer);
  const usageTotal = numberOrUndefined(exchange.usage?.completion_tokens);
  const reconciled = reconcileWithUsage(
    chunks.map((chunk) => chunk.tokens),
    usageTotal,
  );
  const timed: TimedTokens[] = chunks.map((chunk, i) => ({ ...chunk, tokens: reconciled.counts[i]! }));
  const inputTokens =
    numberOrUndefined(exchange.usage?.prompt_tokens) ??
    context.tokenizer.encode(context.messages.map((message) => message.content).join('\n')).length;

  const timeline = { ts: exchange.ts, t0: exchange.t0, tEnd: exchange.tEnd, chunks: timed, inputTokens };
  const metrics = requestMetrics(exchange.tb === undefined ? timeline : { ...timeline, tb: exchange.tb });

  const record: RequestRecord = {
    id: exchange.id,
    model: context.model,
    concurrency: context.concurrency,
    warmup: context.warmup,
    prompt: context.prompt,
    outcome: exchange.error ? 'error' : 'ok',
    metrics,
    tokenSource: tokenSource(timed.length > 0 || usageTotal !== undefined, context.fallback, reconciled.mismatch),
    tokenizer: context.tokenizer.name,
  };
  if (exchange.error) record.error = exchange.error;
  if (exchange.status !== undefined) record.status = exchange.status;
  if (exchange.connectMs !== undefined) record.connectMs = exchange.connectMs;
  if (reconciled.mismatch !== undefined) record.usageMismatch = reconciled.mismatch;
  if (exchange.usage !== undefined) record.usage = exchange.usage;
  return record;
}

/** Token counts per output chunk, each choice tokenized as its own text. */
function countChunkTokens(exchange: Exchange, tokenizer: Tokenizer): TimedTokens[] {
  const timed: TimedTokens[] = exchange.chunks.map((chunk) => ({ at: chunk.at, tokens: 0, choice: chunk.choice }));
  const indicesByChoice = new Map<number, number[]>();
  exchange.chunks.forEach((chunk, i) => {
    let indices = indicesByChoice.get(chunk.choice);
    if (!indices) indicesByChoice.set(chunk.choice, (indices = []));
    indices.push(i);
  });
  for (const indices of indicesByChoice.values()) {
    const counts = tokensPerChunk(
      indices.map((i) => exchange.chunks[i]!.text),
      tokenizer,
    );
    indices.forEach((chunkIndex, j) => (timed[chunkIndex]!.tokens = counts[j]!));
  }
  return timed;
}

function tokenSource(anything: boolean, fallback: boolean, mismatch: number | undefined): TokenSource {
  if (!anything) return 'none';
  const base = fallback ? 'fallback' : 'tokenizer';
  return mismatch === undefined ? base : `${base}+usage`;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
