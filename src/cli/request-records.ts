/**
 * requests.jsonl read back (`merge`): each line becomes the RequestRecord it
 * was rendered from (report/json.ts renderRequestLine), with its raw times on
 * Unix time, so the records of several processes go through the one
 * CellAccumulator a single process uses. Every field the accumulator reads is
 * in the line as it was recorded (values to the µs, which is what the
 * histograms keep): a line without one is refused, never approximated.
 */
import { z } from 'zod';
import type { WindowEdges } from '../metrics/cell-summary.js';
import type { ErrorClass, RequestError, RequestMetrics, RequestRecord, TokenSource } from '../types.js';
import { loadOfFields } from '../util/load-level.js';

/** A record and its window edges: Unix time, ms (t0 = sent_at_unix_ms; chunk times are relative to it). */
export interface RecordWithEdges {
  record: RequestRecord;
  edges: WindowEdges;
}

const ms = z.number().nullable();
const count = z.number().int().nonnegative();

/**
 * The load level's fields of a requests.jsonl line or a histograms.json cell (report/json.ts
 * loadFields writes them, util/load-level.ts loadOfFields reads them back): one schema for every reader.
 */
export const LOAD_FIELDS = {
  concurrency: z.number().positive().optional(),
  rate: z.number().positive().optional(),
  ramp_to: z.number().positive().optional(),
  ramp_over_ms: z.number().positive().optional(),
  trace_speedup: z.number().positive().optional(),
};

const lineSchema = z.looseObject({
  id: z.string(),
  model: z.string(),
  ...LOAD_FIELDS,
  repeat: z.number().int().positive().optional(),
  shard: count.optional(),
  warmup: z.boolean(),
  prompt: count,
  slot: count.optional(),
  session: z.string().optional(),
  turn: z.number().int().positive().optional(),
  outcome: z.enum(['ok', 'error', 'dropped']),
  met_slo: z.boolean().optional(),
  error: z.looseObject({ class: z.string(), message: z.string(), status: z.number().optional(), bodyExcerpt: z.string().optional() }).nullable(),
  status: z.number().nullable(),
  connect_ms: ms,
  resent: z.boolean(),
  schedule_lag_ms: ms,
  scheduled_ttft_ms: ms,
  scheduled_e2e_ms: ms,
  ttfb_ms: ms,
  ttft_ms: ms,
  ttfo_ms: ms,
  tpot_ms: ms,
  e2e_ms: ms,
  output_tokens: count,
  reasoning_tokens: count,
  input_tokens: count.nullable(),
  output_tokens_per_s: ms,
  decode_tokens_per_s: ms,
  tokens_per_chunk: z.array(count),
  chunk_times_ms: z.array(z.number()),
  chunk_gaps_ms: z.array(z.number(), { error: 'is missing: written by a tokenmeter older than merge, which needs each chunk gap as recorded' }),
  itl_ms: z.array(z.tuple([z.number(), count]), { error: 'is missing: written by a tokenmeter older than merge, which needs each ITL sample as recorded' }),
  chunk_choices: z.array(count).optional(),
  choices: z.array(z.looseObject({ choice: count, output_tokens: count, ttft_ms: z.number(), tpot_ms: ms })).optional(),
  token_source: z.string(),
  tokenizer: z.string(),
  // Absent from folders written before it was recorded.
  output_chars: count.optional(),
  usage_mismatch: z.number().nullable(),
  approximate: z.boolean(),
  token_source_reason: z.string().nullable(),
  cached_prompt_tokens: count.nullable(),
  server_ttft_ms: ms,
  server_e2e_ms: ms,
  usage: z.record(z.string(), z.unknown()).nullable(),
  timings: z.record(z.string(), z.unknown()).nullable(),
  sent_at_unix_ms: ms,
  scheduled_at_unix_ms: z.number({ error: 'is missing: written by a tokenmeter older than merge, which needs when each request was due' }),
  start_offset_ms: z.number().optional(),
});
type Line = z.output<typeof lineSchema>;

/**
 * One parsed line of requests.jsonl as its record and edges; throws an Error naming the first
 * problems (the caller adds the file and line) when the line lacks what the accumulator needs.
 */
export function recordOfLine(value: unknown): RecordWithEdges {
  const parsed = lineSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(line)'} ${issue.message}`).join('; '));
  }
  const line = parsed.data;
  const load = loadOfFields(line);
  if (!load) throw new Error('must have concurrency or rate');
  const sent = line.outcome !== 'dropped';
  if (sent && (line.sent_at_unix_ms === null || line.e2e_ms === null || line.schedule_lag_ms === null || line.scheduled_e2e_ms === null)) {
    throw new Error('a sent request must have sent_at_unix_ms, e2e_ms, schedule_lag_ms and scheduled_e2e_ms');
  }
  const ts = line.scheduled_at_unix_ms;
  const t0 = line.sent_at_unix_ms ?? ts;
  const record: RequestRecord = {
    id: line.id,
    model: line.model,
    load,
    warmup: line.warmup,
    prompt: line.prompt,
    outcome: line.outcome,
    ...(line.repeat !== undefined ? { repeat: line.repeat } : {}),
    ...(line.shard !== undefined ? { shard: line.shard } : {}),
    ...(line.slot !== undefined ? { slot: line.slot } : {}),
    ...(line.session !== undefined ? { session: line.session } : {}),
    ...(line.turn !== undefined ? { turn: line.turn } : {}),
    ...(line.sent_at_unix_ms !== null ? { sentAtUnixMs: line.sent_at_unix_ms } : {}),
    scheduledAtUnixMs: ts,
    ...(line.start_offset_ms !== undefined ? { startOffsetMs: line.start_offset_ms } : {}),
    ...(line.error ? { error: errorOf(line.error) } : {}),
    ...(line.met_slo !== undefined ? { metSlo: line.met_slo } : {}),
    ...(line.status !== null ? { status: line.status } : {}),
    ...(line.connect_ms !== null ? { connectMs: line.connect_ms } : {}),
    ...(line.resent ? { resent: true } : {}),
    metrics: metricsOf(line),
    tokenSource: line.token_source as TokenSource,
    tokenizer: line.tokenizer,
    ...(line.output_chars !== undefined ? { outputChars: line.output_chars } : {}),
    ...(line.usage_mismatch !== null ? { usageMismatch: line.usage_mismatch } : {}),
    ...(line.approximate ? { approximate: true as const } : {}),
    ...(line.token_source_reason !== null ? { tokenSourceReason: line.token_source_reason } : {}),
    ...(line.cached_prompt_tokens !== null ? { cachedPromptTokens: line.cached_prompt_tokens } : {}),
    ...(line.timings !== null ? { timings: line.timings } : {}),
    ...(line.server_ttft_ms !== null ? { serverTtftMs: line.server_ttft_ms } : {}),
    ...(line.server_e2e_ms !== null ? { serverE2eMs: line.server_e2e_ms } : {}),
    ...(line.usage !== null ? { usage: line.usage } : {}),
  };
  return { record, edges: { ts, t0, tEnd: t0 + (line.e2e_ms ?? 0) } };
}

function errorOf(error: NonNullable<Line['error']>): RequestError {
  return {
    class: error.class as ErrorClass,
    message: error.message,
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.bodyExcerpt !== undefined ? { bodyExcerpt: error.bodyExcerpt } : {}),
  };
}

function metricsOf(line: Line): RequestMetrics {
  const metrics: RequestMetrics = {
    // A dropped arrival was never sent: its line has no lag or E2E, its record zeros (metrics/request-record.ts droppedRecord).
    scheduleLagMs: line.schedule_lag_ms ?? 0,
    scheduledE2eMs: line.scheduled_e2e_ms ?? 0,
    e2eMs: line.e2e_ms ?? 0,
    itl: line.itl_ms.map(([gapPerTokenMs, tokens]) => ({ gapPerTokenMs, tokens })),
    chunkGapsMs: line.chunk_gaps_ms,
    tokensPerChunk: line.tokens_per_chunk,
    chunkTimesMs: line.chunk_times_ms,
    chunkChoices: line.chunk_choices ?? line.tokens_per_chunk.map(() => 0),
    outputTokens: line.output_tokens,
    reasoningTokens: line.reasoning_tokens,
  };
  const optional = {
    scheduledTtftMs: line.scheduled_ttft_ms,
    ttfbMs: line.ttfb_ms,
    ttftMs: line.ttft_ms,
    ttfoMs: line.ttfo_ms,
    tpotMs: line.tpot_ms,
    inputTokens: line.input_tokens,
    outputTokensPerS: line.output_tokens_per_s,
    decodeTokensPerS: line.decode_tokens_per_s,
  } as const;
  for (const [key, value] of Object.entries(optional) as [keyof typeof optional, number | null][]) if (value !== null) metrics[key] = value;
  if (line.choices) {
    metrics.perChoice = line.choices.map((c) => ({ choice: c.choice, outputTokens: c.output_tokens, ttftMs: c.ttft_ms, ...(c.tpot_ms !== null ? { tpotMs: c.tpot_ms } : {}) }));
  }
  return metrics;
}
