/**
 * A report built the way the run builds one: synthetic request records fed to
 * CellAccumulators. Two models × three concurrency levels, one invalid cell,
 * a TTFT SLO and a capacity outcome.
 */
import { CellAccumulator, type CellSummary } from '../../src/metrics/cell-summary.ts';
import { requestMeetsSlo } from '../../src/metrics/slo.ts';
import type { ReportInput } from '../../src/report/html.ts';
import { provenanceOf, type ProvenanceSource } from '../../src/report/provenance.ts';
import type { CapacityOutcome, RequestRecord, SloBound } from '../../src/types.ts';

export const ALPHA = 'alpha-70b';
/** User input in a model name: must come out escaped everywhere. */
export const BETA = 'beta <b>&"x\'';
export const LEVELS = [1, 4, 16] as const;
export const REQUESTS_PER_CELL = 20;
/** Beta at this level lags its schedule, so its cell is invalid. */
export const INVALID_LEVEL = 16;
const MAX_SCHEDULE_LAG_MS = 20;
const CHUNK_GAP_MS = 10;

export const SLO: SloBound[] = [{ key: 'ttft_p95_ms', metric: 'ttft', stat: 95, bound: 300, direction: 'max' }];

/** TTFT of request i of a cell, ms: grows with load, so c=16 breaks the 300 ms bound and c=4 (the knee) does not. */
export function ttftMs(model: string, concurrency: number, i: number): number {
  return (model === ALPHA ? 100 : 120) * (1 + concurrency / 8) + i * 5;
}

/** Alpha streams 1–3 tokens per chunk, beta 4. */
export const tokensPerChunk = (model: string): number[] => (model === ALPHA ? [1, 2, 3, 1, 2, 3] : [4, 4, 4]);

function requestRecord(model: string, concurrency: number, i: number): RequestRecord {
  const ttft = ttftMs(model, concurrency, i);
  const chunks = tokensPerChunk(model);
  const chunkTimesMs = chunks.map((_, k) => ttft + k * CHUNK_GAP_MS);
  const outputTokens = chunks.reduce((sum, k) => sum + k, 0);
  const lastChunkMs = chunkTimesMs.at(-1)!;
  const e2eMs = lastChunkMs + 5;
  const scheduleLagMs = model === BETA && concurrency === INVALID_LEVEL ? 50 : 0;
  return {
    id: `${model}-${concurrency}-${i}`,
    model,
    load: { kind: 'concurrency', value: concurrency },
    warmup: false,
    prompt: 0,
    outcome: 'ok',
    metrics: {
      scheduleLagMs,
      scheduledTtftMs: ttft + scheduleLagMs,
      scheduledE2eMs: e2eMs + scheduleLagMs,
      ttfbMs: ttft - 1,
      ttftMs: ttft,
      e2eMs,
      tpotMs: (lastChunkMs - ttft) / (outputTokens - chunks[0]!),
      itl: chunks.slice(1).map((tokens) => ({ gapPerTokenMs: CHUNK_GAP_MS / tokens, tokens })),
      chunkGapsMs: chunks.slice(1).map(() => CHUNK_GAP_MS),
      tokensPerChunk: chunks,
      chunkTimesMs,
      chunkChoices: chunks.map(() => 0),
      outputTokens,
      reasoningTokens: 0,
      outputTokensPerS: outputTokens / (e2eMs / 1000),
    },
    tokenSource: 'tokenizer',
    tokenizer: 'llama3',
  };
}

/** One cell: its requests sent back to back at `concurrency` per 100 ms, so throughput grows with load. */
export function cellSummary(model: string, concurrency: number, requests = REQUESTS_PER_CELL): CellSummary {
  const accumulator = new CellAccumulator({ model, load: { kind: 'concurrency', value: concurrency } }, { slo: SLO, maxScheduleLagMs: MAX_SCHEDULE_LAG_MS, maxClientLagMs: Infinity });
  for (let i = 0; i < requests; i++) {
    const record = requestRecord(model, concurrency, i);
    record.metSlo = requestMeetsSlo(record, SLO);
    const t0 = (i * 100) / concurrency;
    accumulator.add(record, { t0, tEnd: t0 + record.metrics.e2eMs });
  }
  return accumulator.summary();
}

export const CAPACITY: CapacityOutcome[] = [
  {
    model: ALPHA,
    kind: 'concurrency',
    best: 4,
    firstFailure: { load: 16, reason: 'ttft_p95_ms 390 > 300' },
    steps: [
      { load: 1, met: true },
      { load: 4, met: true },
      { load: 16, met: false, reason: 'ttft_p95_ms 390 > 300' },
    ],
    tolerance: 1,
    reachedMax: false,
  },
];

export function sampleReport(): ReportInput {
  return {
    title: 'sweep <demo>',
    description: 'Two models & three levels',
    generatedAt: '2025-01-02T03:04:05.000Z',
    cells: [ALPHA, BETA].flatMap((model) => LEVELS.map((level) => cellSummary(model, level))),
    slo: SLO,
    capacity: CAPACITY,
    provenance: provenanceOf(sampleProvenanceSource()),
  };
}

/** Credentials planted where a careless provenance block would print them: none may reach the page. */
export const SECRETS = ['sk-in-userinfo', 'sk-in-query', 'sk-in-params', 'sk-in-header', 'sk-api-key'];

/** run.json's facts of the sample run, with a secret in every place one could hide. */
export function sampleProvenanceSource(completed = true): ProvenanceSource {
  return {
    baseURL: 'https://user:sk-in-userinfo@api.example.com:8443/v1?key=sk-in-query',
    tokenmeterVersion: '9.8.7',
    nodeVersion: 'v20.19.0',
    startedAt: '2025-01-02T03:00:00.000Z',
    endedAt: '2025-01-02T03:04:05.000Z',
    completed,
    scenario: {
      name: 'sweep <demo>',
      file: 'scenarios/sweep.yaml',
      target: { api: 'chat', apiKey: 'sk-api-key', headers: { 'x-secret': 'sk-in-header' } } as { api: string },
      load: { kind: 'concurrency', levels: [...LEVELS], requests: REQUESTS_PER_CELL, warmup: 2 },
      params: { max_tokens: 64, temperature: 0, api_key: 'sk-in-params' },
    },
  };
}

export const WIDE_MODELS = ['m-one', 'm-two', 'm-three'];
/** Eight load levels: each needs a colour of its own. */
export const WIDE_LEVELS = [1, 2, 4, 8, 16, 32, 64, 128];
export const TPOT_SLO: SloBound = { key: 'tpot_p95_ms', metric: 'tpot', stat: 95, bound: 4, direction: 'max' };
export const REPEATS = 3;

/**
 * Three models × eight levels, each cell standing for 3 repeats (a spread of
 * ±10% around its value), with TTFT and TPOT bounds: what `run --repeat 3` of a
 * wide sweep gives the report.
 */
export function wideRepeatReport(): ReportInput {
  const cells = WIDE_MODELS.flatMap((model) =>
    WIDE_LEVELS.map((level) => {
      const cell = cellSummary(model, level, 8);
      const around = (value: number | undefined) => (value === undefined ? { min: Infinity, max: -Infinity, cv: 0 } : { min: value * 0.9, max: value * 1.1, cv: 0.05 });
      cell.repeats = {
        count: REPEATS,
        spread: {
          ttft_p50: around(cell.stats.ttft?.p50),
          ttft_p95: around(cell.stats.ttft?.p95),
          tpot_p50: around(cell.stats.tpot?.p50),
          tpot_p95: around(cell.stats.tpot?.p95),
          e2e_p95: around(cell.stats.e2e?.p95),
          output_tokens_per_s: around(cell.outputTokensPerS),
        },
      };
      return cell;
    }),
  );
  return {
    title: 'wide sweep',
    generatedAt: '2025-01-02T03:04:05.000Z',
    cells,
    slo: [...SLO, TPOT_SLO],
    provenance: provenanceOf(sampleProvenanceSource(), REPEATS),
  };
}

/** Unix time the timeline cells start at, ms. */
const TIMELINE_U = 1_800_000_000_000;

/** A request of slot `slot` sent at TIMELINE_U + sentMs, 100 ms long, 10 tokens in two chunks. */
function timelineRecord(slot: number, sentMs: number, warmup = false): RequestRecord {
  return {
    id: `r${slot}-${sentMs}`,
    model: 'm',
    load: { kind: 'concurrency', value: 2 },
    warmup,
    prompt: 0,
    slot,
    outcome: 'ok',
    sentAtUnixMs: TIMELINE_U + sentMs,
    scheduledAtUnixMs: TIMELINE_U + sentMs,
    metrics: {
      scheduleLagMs: 0,
      scheduledE2eMs: 100,
      e2eMs: 100,
      ttftMs: 50,
      tpotMs: 10,
      itl: [{ gapPerTokenMs: 10, tokens: 5 }],
      chunkGapsMs: [50],
      tokensPerChunk: [5, 5],
      chunkTimesMs: [50, 100],
      chunkChoices: [0, 0],
      outputTokens: 10,
      reasoningTokens: 0,
    },
    tokenSource: 'tokenizer',
    tokenizer: 'llama3',
  };
}

/** A cell with a timeline: a closed loop of two slots, `waves` waves of 100 ms after one warm-up wave; 0 waves: no request at all. */
export function timelineCell(waves: number, value = 2): CellSummary {
  const accumulator = new CellAccumulator({ model: 'm', load: { kind: 'concurrency', value } });
  for (let wave = 0; waves > 0 && wave <= waves; wave++) {
    for (const slot of [0, 1]) {
      const r = timelineRecord(slot, wave * 100, wave === 0);
      accumulator.add(r, { t0: wave * 100, tEnd: wave * 100 + 100 });
    }
  }
  return accumulator.summary();
}
