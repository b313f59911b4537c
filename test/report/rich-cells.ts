/**
 * Cells that fill the columns the sweep fixture leaves empty: an open-loop
 * cell with failed, dropped, interrupted and warm-up requests, reasoning and
 * input tokens, new connections, server-reported timings, usage mismatches, a
 * failed SLO and a schedule lag that makes it invalid, the client's own health; and the merged row of
 * two repeats. Built the way the run builds them, through CellAccumulators.
 */
import { CellAccumulator, mergeRepeats, type CellOptions, type CellSummary } from '../../src/metrics/cell-summary.ts';
import { requestMeetsSlo } from '../../src/metrics/slo.ts';
import type { LoadLevel, RequestRecord, SloBound } from '../../src/types.ts';

export const RICH_MODEL = 'gamma, "quoted"';
const RATE: LoadLevel = { kind: 'rate', value: 2.5 };

export const RICH_SLO: SloBound[] = [
  { key: 'ttft_p95_ms', metric: 'ttft', stat: 95, bound: 130, direction: 'max' },
  { key: 'decode_tokens_per_s_p5', metric: 'decode_tokens_per_s', stat: 5, bound: 90, direction: 'min' },
  { key: 'error_rate', metric: 'error_rate', bound: 0.01, direction: 'max' },
];

/** Request i: 1–4 tokens per chunk, a reasoning first chunk on even i, a new connection every third. */
function okRecord(model: string, load: LoadLevel, i: number): RequestRecord {
  const chunks = [1 + (i % 4), 2, 3 + (i % 2), 1];
  const ttftMs = 100 + i * 7;
  const gapMs = 9 + (i % 3);
  const chunkTimesMs = chunks.map((_, k) => ttftMs + k * gapMs);
  const outputTokens = chunks.reduce((sum, k) => sum + k, 0) + 1;
  const lastMs = chunkTimesMs.at(-1)!;
  const e2eMs = lastMs + 4;
  const scheduleLagMs = i < 3 ? 40 + i : 0.5;
  const decodeTokens = outputTokens - 1 - chunks[0]!;
  return {
    id: `${model}-${i}`,
    model,
    load,
    warmup: false,
    prompt: i % 2,
    outcome: 'ok',
    ...(i % 3 === 0 ? { connectMs: 3 + i / 10 } : {}),
    metrics: {
      scheduleLagMs,
      scheduledTtftMs: ttftMs + scheduleLagMs,
      scheduledE2eMs: e2eMs + scheduleLagMs,
      ttfbMs: ttftMs - 2,
      ttftMs,
      ...(i % 2 === 0 ? { ttfoMs: ttftMs + gapMs } : { ttfoMs: ttftMs }),
      e2eMs,
      tpotMs: (lastMs - ttftMs) / decodeTokens,
      itl: chunks.slice(1).map((tokens) => ({ gapPerTokenMs: gapMs / tokens, tokens })),
      chunkGapsMs: chunks.slice(1).map(() => gapMs),
      tokensPerChunk: chunks,
      chunkTimesMs,
      chunkChoices: chunks.map(() => 0),
      outputTokens,
      reasoningTokens: i % 2 === 0 ? chunks[0]! : 0,
      inputTokens: 30 + i,
      outputTokensPerS: (outputTokens * 1000) / e2eMs,
      decodeTokensPerS: (decodeTokens * 1000) / (lastMs - ttftMs),
    },
    tokenSource: i % 4 === 0 ? 'tokenizer+usage' : 'logprobs',
    tokenizer: 'llama3',
    ...(i % 4 === 0 ? { usageMismatch: 1 + (i % 3) } : {}),
    ...(i % 2 === 1 ? { serverTtftMs: ttftMs - 11, serverE2eMs: e2eMs - 13 } : {}),
  };
}

function failedRecord(model: string, load: LoadLevel, i: number, outcome: 'error' | 'dropped', errorClass?: 'rate_limited' | 'interrupted' | 'timeout'): RequestRecord {
  return {
    id: `${model}-x${i}`,
    model,
    load,
    warmup: false,
    prompt: 0,
    outcome,
    ...(errorClass ? { error: { class: errorClass, message: errorClass } } : {}),
    metrics: {
      scheduleLagMs: 1,
      scheduledE2eMs: 50 + i,
      e2eMs: 49 + i,
      itl: [],
      chunkGapsMs: [],
      tokensPerChunk: [],
      chunkTimesMs: [],
      chunkChoices: [],
      outputTokens: 0,
      reasoningTokens: 0,
    },
    tokenSource: 'none',
    tokenizer: 'llama3',
  };
}

function accumulate(model: string, load: LoadLevel, options: CellOptions, repeat?: number, requests = 16): CellAccumulator {
  const accumulator = new CellAccumulator({ model, load, ...(repeat !== undefined ? { repeat } : {}) }, options);
  const add = (record: RequestRecord, t0: number) => {
    record.metSlo = requestMeetsSlo(record, options.slo);
    accumulator.add(record, { t0, tEnd: t0 + record.metrics.e2eMs });
  };
  add({ ...okRecord(model, load, 99), warmup: true }, 0);
  // The client's own health: 1% of its loop ticks were 6+ ms late; repeats differ in how long they ran.
  const r = repeat ?? 0;
  accumulator.addClientHealth({
    loopDelay: [{ value: 0.25, count: 900 }, { value: 2, count: 90 }, { value: 6 + r, count: 10 }],
    utilization: 0.3 + 0.1 * r,
    elapsedMs: 1000 * (1 + r),
  });
  for (let i = 0; i < requests; i++) add(okRecord(model, load, i + (repeat ?? 0)), i * 40);
  add(failedRecord(model, load, 1, 'error', 'rate_limited'), 100);
  add(failedRecord(model, load, 2, 'error', 'timeout'), 200);
  add(failedRecord(model, load, 3, 'error', 'rate_limited'), 300);
  add(failedRecord(model, load, 4, 'dropped'), 400);
  add(failedRecord(model, load, 5, 'error', 'interrupted'), 500);
  return accumulator;
}

/** The open-loop cell: every column of summary.csv has a value. */
export function richCell(): CellSummary {
  return accumulate(RICH_MODEL, RATE, { slo: RICH_SLO, maxScheduleLagMs: 20, maxClientLagMs: Infinity }).summary();
}

/** Two closed-loop repeats without an SLO, and their merged row (`all 2`, with the spread). */
export function repeatCells(): CellSummary[] {
  const options: CellOptions = { slo: [], maxScheduleLagMs: 1000, maxClientLagMs: Infinity };
  const load: LoadLevel = { kind: 'concurrency', value: 2 };
  const parts = [1, 2].map((repeat) => {
    const accumulator = accumulate('delta', load, options, repeat, 10 + repeat);
    return { accumulator, summary: accumulator.summary() };
  });
  return [...parts.map((part) => part.summary), mergeRepeats(parts, options)];
}
