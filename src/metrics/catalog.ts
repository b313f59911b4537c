/**
 * The metric catalog: every number tokenmeter keeps per cell, as data
 * (METRICS.md defines them). The histograms, summary.csv, the console table,
 * the report, the SLO keys, the threshold grammar, `check` and `compare` are
 * built from these two tables instead of naming metrics themselves.
 *
 * Adding a distribution: compute its per-request value where the others are
 * computed (metrics/timing.ts, into RequestMetrics), and add one entry to
 * HISTOGRAM_METRICS. It then has a histogram in every cell, in
 * histograms.json and histograms.csv, SLO keys (`NAME_p95[_ms]`), threshold
 * subjects (`NAME.p95`) and, with `baselineCheck`, `--max-regression` rules.
 * A per-request metric also belongs in requests.jsonl under `fieldName(NAME)`
 * (report/json.ts; test/metrics/catalog.test.ts fails until it is there).
 * summary.csv, the console table and the report show chosen statistics of
 * chosen metrics: a new one appears there only if a column names it.
 *
 * A leaf: it imports types only, so the scenario grammar may read it too.
 */
import type { RequestRecord } from '../types.js';
import type { CellSummary } from './cell-summary.js';

/** Which way is better. It also decides whether an SLO bound is a ceiling (lower) or a floor (higher). */
export type Better = 'lower' | 'higher';

/**
 * Units of every value in the catalog. `tokens/s` and `req/s` are rates;
 * `share` is a proportion from 0 to 1; `count` a plain number of things.
 */
export type Unit = 'ms' | 'tokens' | 'tokens/s' | 'req/s' | 'share' | 'count';

/** One value to record in a histogram, in the metric's unit, `count` times (ITL: once per token of its chunk). */
export interface Sample {
  value: number;
  count: number;
}

interface MetricEntry<Name extends string> {
  /** `ttft`: the name in histograms.json, SLO keys, thresholds, summary.csv column names. */
  name: Name;
  /** `TTFT`: for people (table headers, chart titles, `compare` rows). */
  label: string;
  /** Unit of the reported values. */
  unit: 'ms' | 'tokens' | 'tokens/s';
  /** Recorded integer = value × scale (ms → µs is 1000; token counts are exact integers). */
  scale: number;
  better: Better;
  /** One line, as METRICS.md defines it. */
  description: string;
  /**
   * `sent`: every request that was sent, failed ones too (how late the client
   * sent it, how long it took to end); `ok`: successful requests only;
   * `client`: not from requests, but from the client's own health monitor over the cell's load.
   */
  recordedFor: 'sent' | 'ok' | 'client';
}

/** A metric with one value per request (TTFT, E2E): that value is also what a per-request SLO bound checks. */
export interface PerRequestMetric<Name extends string = string> extends MetricEntry<Name> {
  recordedFor: 'sent' | 'ok';
  /** The request's value in `unit`; undefined where it has none (no TPOT in a one-token reply). */
  value: (record: RequestRecord) => number | undefined;
  samples?: never;
  /**
   * `check --max-regression` may compare it: per-request samples from
   * requests.jsonl (field `fieldName(name)`), bootstrapped.
   */
  baselineCheck: boolean;
}

/** A metric with many samples per request (per chunk, per token): no single per-request value. */
export interface PerSampleMetric<Name extends string = string> extends MetricEntry<Name> {
  recordedFor: 'sent' | 'ok';
  /** The request's samples, in `unit`. */
  samples: (record: RequestRecord) => readonly Sample[];
  value?: never;
  baselineCheck?: never;
}

/**
 * A metric of the client itself over a cell (its event-loop delay): its samples come from the
 * client-health monitor (CellAccumulator.addClientHealth), not from requests, so no request has one.
 */
export interface ClientMetric<Name extends string = string> extends MetricEntry<Name> {
  recordedFor: 'client';
  value?: never;
  samples?: never;
  baselineCheck?: never;
}

/** One distribution kept per cell as an HDR histogram. */
export type HistogramMetric<Name extends string = MetricName> = PerRequestMetric<Name> | PerSampleMetric<Name> | ClientMetric<Name>;

const TIME = { unit: 'ms', scale: 1000 } as const;
const TOKENS = { unit: 'tokens', scale: 1 } as const;
const TOKEN_RATE = { unit: 'tokens/s', scale: 1000 } as const;

const each = (values: readonly number[]): Sample[] => values.map((value) => ({ value, count: 1 }));

const ENTRIES = [
  {
    name: 'ttft',
    label: 'TTFT',
    ...TIME,
    better: 'lower',
    description: 'time to first token: first chunk that carried a token, from t0',
    recordedFor: 'ok',
    value: (record) => record.metrics.ttftMs,
    baselineCheck: true,
  },
  {
    name: 'ttfo',
    label: 'TTFO',
    ...TIME,
    better: 'lower',
    description: 'time to first output: the first answer token, after any reasoning, from t0',
    recordedFor: 'ok',
    value: (record) => record.metrics.ttfoMs,
    baselineCheck: true,
  },
  {
    name: 'tpot',
    label: 'TPOT',
    ...TIME,
    better: 'lower',
    description: 'time per output token after the first chunk: (t_l − t_f) / (N − k_f)',
    recordedFor: 'ok',
    value: (record) => record.metrics.tpotMs,
    baselineCheck: true,
  },
  {
    name: 'itl',
    label: 'ITL',
    ...TIME,
    better: 'lower',
    description: 'inter-token latency: each chunk gap divided by its tokens, once per token',
    recordedFor: 'ok',
    samples: (record) => record.metrics.itl.map((sample) => ({ value: sample.gapPerTokenMs, count: sample.tokens })),
  },
  {
    name: 'e2e',
    label: 'E2E',
    ...TIME,
    better: 'lower',
    description: 'end-to-end latency: end of stream, from t0',
    recordedFor: 'ok',
    value: (record) => record.metrics.e2eMs,
    baselineCheck: true,
  },
  {
    name: 'ttfb',
    label: 'TTFB',
    ...TIME,
    better: 'lower',
    description: 'time to first byte of the response body, from t0',
    recordedFor: 'ok',
    value: (record) => record.metrics.ttfbMs,
    baselineCheck: true,
  },
  {
    name: 'chunk_gap',
    label: 'chunk gap',
    ...TIME,
    better: 'lower',
    description: 'raw gap between consecutive chunks that carried tokens, once per chunk',
    recordedFor: 'ok',
    samples: (record) => each(record.metrics.chunkGapsMs),
  },
  {
    name: 'tokens_per_chunk',
    label: 'tokens/chunk',
    ...TOKENS,
    better: 'lower',
    description: 'tokens in each chunk that carried any',
    recordedFor: 'ok',
    samples: (record) => each(record.metrics.tokensPerChunk),
  },
  {
    name: 'output_tokens_per_s',
    label: 'output tok/s',
    ...TOKEN_RATE,
    better: 'higher',
    description: "one request's output tokens over its E2E latency",
    recordedFor: 'ok',
    value: (record) => record.metrics.outputTokensPerS,
    baselineCheck: true,
  },
  {
    name: 'decode_tokens_per_s',
    label: 'decode tok/s',
    ...TOKEN_RATE,
    better: 'higher',
    description: 'tokens after the first chunk over the time they took: (N − k_f) / (t_l − t_f)',
    recordedFor: 'ok',
    value: (record) => record.metrics.decodeTokensPerS,
    baselineCheck: true,
  },
  {
    name: 'input_tokens',
    label: 'input tokens',
    ...TOKENS,
    better: 'lower',
    description: "prompt tokens: the server's usage.prompt_tokens, else the tokenizer's count",
    recordedFor: 'ok',
    value: (record) => record.metrics.inputTokens,
    baselineCheck: false,
  },
  {
    name: 'output_tokens',
    label: 'output tokens',
    ...TOKENS,
    better: 'lower',
    description: 'output tokens of the request, N',
    recordedFor: 'ok',
    value: (record) => record.metrics.outputTokens,
    baselineCheck: false,
  },
  {
    name: 'reasoning_tokens',
    label: 'reasoning tokens',
    ...TOKENS,
    better: 'lower',
    description: 'of the output tokens, those of reasoning text',
    recordedFor: 'ok',
    value: (record) => record.metrics.reasoningTokens,
    baselineCheck: false,
  },
  {
    name: 'connect',
    label: 'connect',
    ...TIME,
    better: 'lower',
    description: 'time to open a new connection (TCP + TLS); none on a reused one',
    recordedFor: 'ok',
    value: (record) => record.connectMs,
    baselineCheck: false,
  },
  {
    name: 'schedule_lag',
    label: 'schedule lag',
    ...TIME,
    better: 'lower',
    description: 'how late the client sent the request: t0 − ts',
    recordedFor: 'sent',
    value: (record) => record.metrics.scheduleLagMs,
    baselineCheck: false,
  },
  {
    name: 'scheduled_ttft',
    label: 'scheduled TTFT',
    ...TIME,
    better: 'lower',
    description: 'TTFT from the time the request was due (ts), the client’s lateness included',
    recordedFor: 'ok',
    value: (record) => record.metrics.scheduledTtftMs,
    baselineCheck: true,
  },
  {
    name: 'scheduled_e2e',
    label: 'scheduled E2E',
    ...TIME,
    better: 'lower',
    description: 'E2E from the time the request was due (ts), the client’s lateness included',
    recordedFor: 'sent',
    value: (record) => record.metrics.scheduledE2eMs,
    baselineCheck: false,
  },
  {
    name: 'client_loop_delay',
    label: 'client loop delay',
    ...TIME,
    better: 'lower',
    description: "how late the reading thread's event loop ran a 1 ms timer over the cell's load, stalls weighted by their length",
    recordedFor: 'client',
  },
] as const satisfies readonly HistogramMetric<string>[];

/** A distribution's name: `ttft`, `decode_tokens_per_s`… */
export type MetricName = (typeof ENTRIES)[number]['name'];

/** Every distribution, in the order of METRIC_NAMES (histograms.json, histograms.csv). */
export const HISTOGRAM_METRICS: readonly HistogramMetric[] = ENTRIES;

/** Every distribution tokenmeter keeps per cell (histograms, summary columns, SLO keys), in catalog order. */
export const METRIC_NAMES: readonly MetricName[] = HISTOGRAM_METRICS.map((metric) => metric.name);

/** The catalog entry of a distribution, by name. */
export const METRICS = Object.fromEntries(HISTOGRAM_METRICS.map((metric) => [metric.name, metric])) as Record<MetricName, HistogramMetric>;

/** The samples a request adds to a metric's histogram: its one value, or its many (none where it has none). */
export function samplesOf(metric: HistogramMetric, record: RequestRecord): readonly Sample[] {
  if (metric.recordedFor === 'client') return [];
  if (metric.samples) return metric.samples(record);
  const value = metric.value(record);
  return value === undefined ? [] : [{ value, count: 1 }];
}

/**
 * How a metric is named where a value or statistic of it is written:
 * `ttft_ms` (requests.jsonl), `ttft_p95_ms` (summary.csv, SLO keys),
 * `tokens_per_chunk_mean`, `decode_tokens_per_s_p5`: times end in `_ms`,
 * token counts and rates say their unit in their name already.
 */
export function fieldName(metric: MetricName, stat?: string): string {
  return `${metric}${stat === undefined ? '' : `_${stat}`}${METRICS[metric].unit === 'ms' ? '_ms' : ''}`;
}

/** One number per cell that is not a distribution: throughput over the cell's window, error and drop rates. */
export interface CellValue {
  /** As a threshold names it: `output_tokens_per_s`, `errors.rate`. */
  name: string;
  /** For people (`compare` rows). */
  label: string;
  unit: Unit;
  better: Better;
  description: string;
  /** The cell's value; undefined where it has none (goodput without an SLO). */
  value: (cell: CellSummary) => number | undefined;
}

const CELL_VALUE_ENTRIES = [
  {
    name: 'output_tokens_per_s',
    label: 'output tok/s',
    unit: 'tokens/s',
    better: 'higher',
    description: 'output tokens whose chunks arrived inside the window, over the window',
    value: (cell) => cell.outputTokensPerS,
  },
  {
    name: 'requests_per_s',
    label: 'req/s',
    unit: 'req/s',
    better: 'higher',
    description: 'requests that ended successfully inside the window, over the window',
    value: (cell) => cell.requestsPerS,
  },
  {
    name: 'goodput',
    label: 'goodput',
    unit: 'req/s',
    better: 'higher',
    description: 'requests that met every SLO bound, over the window; none without an SLO',
    value: (cell) => cell.goodputPerS,
  },
  {
    name: 'errors.rate',
    label: 'error rate',
    unit: 'share',
    better: 'lower',
    description: 'failed requests over the measured ones, interrupted ones left out',
    value: (cell) => cell.errorRate,
  },
  {
    name: 'errors.count',
    label: 'errors',
    unit: 'count',
    better: 'lower',
    description: 'failed requests, interrupted ones left out',
    value: (cell) => cell.errors,
  },
  {
    name: 'dropped.rate',
    label: 'dropped rate',
    unit: 'share',
    better: 'lower',
    description: 'open-loop arrivals dropped at maxInFlight, over the measured requests',
    value: (cell) => {
      const completed = cell.requests - cell.interrupted;
      return completed > 0 ? cell.dropped / completed : 0;
    },
  },
  {
    name: 'dropped.count',
    label: 'dropped',
    unit: 'count',
    better: 'lower',
    description: 'open-loop arrivals dropped at maxInFlight',
    value: (cell) => cell.dropped,
  },
  {
    name: 'client_utilization',
    label: 'client utilization',
    unit: 'share',
    better: 'lower',
    description: "share of the cell's load the reading thread's event loop was busy (performance.eventLoopUtilization)",
    value: (cell) => cell.clientUtilization,
  },
] as const satisfies readonly CellValue[];

/** `output_tokens_per_s`, `errors.rate`… */
export type CellValueName = (typeof CELL_VALUE_ENTRIES)[number]['name'];

/** Every cell value, in the order the threshold grammar lists them. */
export const CELL_VALUES: readonly CellValue[] = CELL_VALUE_ENTRIES;

/** The catalog entry of a cell value, by name. */
export const CELL_VALUES_BY_NAME = Object.fromEntries(CELL_VALUES.map((entry) => [entry.name, entry])) as Record<CellValueName, CellValue>;

/** The catalog entry of a cell value, by a name read from input; undefined for a name that is none. */
export function cellValueNamed(name: string): CellValue | undefined {
  return CELL_VALUES.find((entry) => entry.name === name);
}

/** What a threshold names a cell value by: `errors.rate` → `errors` (with the stat `rate`), `goodput` → `goodput`. */
export type CellValueSubject = CellValueName extends infer Name ? (Name extends `${infer Head}.${string}` ? Head : Name) : never;
