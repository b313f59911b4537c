/** JSON renderers: requests.jsonl lines, histograms.json, run.json. Pure. */
import type { CellSummary } from '../metrics/cell-summary.js';
import { encodeHistogram, METRIC_NAMES, METRIC_UNITS } from '../metrics/histograms.js';
import type { ShardSchedule } from '../load/shard-schedule.js';
import type { CapacityOutcome, DatasetPrompts, LoadLevel, LoadTrace, RequestRecord, Scenario, SweepOutcome, TracePrompts } from '../types.js';
import { jsonNumber } from '../util/format.js';

/**
 * `concurrency` (closed loop) or `rate` (open loop, requests/s): the load level's field in every JSON
 * file; a ramp's end and length (`ramp_to`, req/s; `ramp_over_ms`) and a trace's `trace_speedup` beside it.
 */
export function loadFields(load: LoadLevel): { concurrency: number } | { rate: number; ramp_to?: number; ramp_over_ms?: number; trace_speedup?: number } {
  if (load.kind === 'concurrency') return { concurrency: load.value };
  return {
    rate: load.value,
    ...(load.ramp ? { ramp_to: load.ramp.toRate, ramp_over_ms: load.ramp.overMs } : {}),
    ...(load.trace ? { trace_speedup: load.trace.speedup } : {}),
  };
}

/**
 * The scenario as run.json records it: a dataset by its file, selection and sha256, a trace by its
 * file, sha256, speed-ups and count of arrivals, not their every entry or line (a trace's times in
 * `load`, its prompts in `prompts`).
 */
function recordedScenario(scenario: Scenario): Record<string, unknown> {
  const { trace, ...load } = scenario.load;
  if (!trace) return { ...scenario, prompts: promptsOfRun(scenario.prompts) };
  // `merge` writes the run.json of scenarios read back from run.json files: already recorded so, they stay as they are.
  const { offsetsMs, ...identity } = trace as Partial<LoadTrace> & { arrivals?: number };
  const prompts = scenario.prompts as Partial<TracePrompts> & { lines?: unknown };
  return {
    ...scenario,
    load: { ...load, trace: { ...identity, arrivals: offsetsMs?.length ?? identity.arrivals } },
    prompts: Array.isArray(prompts.lines) ? { ...prompts, lines: prompts.lines.length } : prompts,
  };
}

/** One line of requests.jsonl: the file's contract, in snake_case. */
export function renderRequestLine(record: RequestRecord): string {
  const m = record.metrics;
  // A dropped arrival was never sent: it has a scheduled time, and no latency of any kind.
  const sent = record.outcome !== 'dropped';
  return JSON.stringify({
    id: record.id,
    model: record.model,
    ...loadFields(record.load),
    ...(record.repeat !== undefined ? { repeat: record.repeat } : {}),
    ...(record.shard !== undefined ? { shard: record.shard } : {}),
    warmup: record.warmup,
    prompt: record.prompt,
    ...(record.slot !== undefined ? { slot: record.slot } : {}),
    ...(record.session !== undefined ? { session: record.session, turn: record.turn } : {}),
    outcome: record.outcome,
    ...(record.metSlo !== undefined ? { met_slo: record.metSlo } : {}),
    error: record.error ?? null,
    status: record.status ?? null,
    connect_ms: jsonNumber(record.connectMs),
    resent: record.resent === true,
    schedule_lag_ms: sent ? jsonNumber(m.scheduleLagMs) : null,
    scheduled_ttft_ms: jsonNumber(m.scheduledTtftMs),
    scheduled_e2e_ms: sent ? jsonNumber(m.scheduledE2eMs) : null,
    ttfb_ms: jsonNumber(m.ttfbMs),
    ttft_ms: jsonNumber(m.ttftMs),
    ttfo_ms: jsonNumber(m.ttfoMs),
    tpot_ms: jsonNumber(m.tpotMs),
    e2e_ms: sent ? jsonNumber(m.e2eMs) : null,
    output_tokens: m.outputTokens,
    reasoning_tokens: m.reasoningTokens,
    input_tokens: m.inputTokens ?? null,
    output_tokens_per_s: jsonNumber(m.outputTokensPerS),
    decode_tokens_per_s: jsonNumber(m.decodeTokensPerS),
    tokens_per_chunk: m.tokensPerChunk,
    chunk_times_ms: m.chunkTimesMs.map((t) => jsonNumber(t)),
    // The ITL and chunk-gap samples as recorded (gaps of unrounded times): `merge` rebuilds the histograms from them exactly.
    chunk_gaps_ms: m.chunkGapsMs.map((gap) => jsonNumber(gap)),
    itl_ms: m.itl.map((sample) => [jsonNumber(sample.gapPerTokenMs), sample.tokens]),
    ...(m.perChoice
      ? {
          chunk_choices: m.chunkChoices,
          choices: m.perChoice.map((c) => ({ choice: c.choice, output_tokens: c.outputTokens, ttft_ms: jsonNumber(c.ttftMs), tpot_ms: jsonNumber(c.tpotMs) })),
        }
      : {}),
    token_source: record.tokenSource,
    tokenizer: record.tokenizer,
    ...(record.outputChars !== undefined ? { output_chars: record.outputChars } : {}),
    usage_mismatch: record.usageMismatch ?? null,
    approximate: record.approximate ?? false,
    token_source_reason: record.tokenSourceReason ?? null,
    cached_prompt_tokens: record.cachedPromptTokens ?? null,
    server_ttft_ms: jsonNumber(record.serverTtftMs),
    server_e2e_ms: jsonNumber(record.serverE2eMs),
    usage: record.usage ?? null,
    timings: record.timings ?? null,
    sent_at_unix_ms: unixMsField(record.sentAtUnixMs),
    scheduled_at_unix_ms: unixMsField(record.scheduledAtUnixMs),
    ...(record.startOffsetMs !== undefined ? { start_offset_ms: jsonNumber(record.startOffsetMs) } : {}),
  }) + '\n';
}

/** Unix ms with µs kept: requests of one run still order by it. */
function unixMsField(unixMs: number | undefined): number | null {
  return unixMs === undefined ? null : Math.round(unixMs * 1000) / 1000;
}

/** histograms.json: every histogram of every cell, HdrHistogram compressed base64 (lossless, mergeable). */
export function renderHistogramsJson(cells: readonly CellSummary[]): string {
  return JSON.stringify(
    {
      format: 'hdrhistogram-compressed-base64',
      significant_digits: 3,
      cells: cells.map((cell) => ({
        model: cell.model,
        ...loadFields(cell.load),
        ...(cell.repeat !== undefined ? { repeat: cell.repeat } : cell.repeats ? { repeat: 'all' } : {}),
        histograms: Object.fromEntries(
          METRIC_NAMES.map((metric) => [
            metric,
            {
              unit: METRIC_UNITS[metric].unit,
              // Recorded integer = value in `unit` × scale (µs for ms metrics).
              scale: METRIC_UNITS[metric].scale,
              count: cell.histograms[metric].totalCount,
              encoded: encodeHistogram(cell.histograms[metric]),
            },
          ]),
        ),
      })),
    },
    null,
    2,
  ) + '\n';
}

/**
 * summary.json: every cell's summary (SLO verdict, validity, goodput, stats)
 * without its histograms, which are in histograms.json. `tokenmeter report`
 * rebuilds the cells from the two (cli/results-folder.ts).
 */
export function renderSummaryJson(cells: readonly CellSummary[], extra: { capacity?: readonly CapacityOutcome[]; sweep?: readonly SweepOutcome[] } = {}): string {
  return (
    JSON.stringify(
      {
        cells: cells.map(({ histograms: _histograms, ...summary }) => summary),
        ...(extra.capacity ? { capacity: extra.capacity } : {}),
        ...(extra.sweep ? { sweep: extra.sweep } : {}),
      },
      null,
      2,
    ) + '\n'
  );
}

export interface RunInfo {
  scenario: Scenario;
  tokenmeterVersion: string;
  startedAt: Date;
  endedAt: Date;
  completed: boolean;
  /** Why it did not complete, when it did not. */
  incompleteReason?: string;
  /** The URL requests went to (the simulator's address for builtin). */
  baseURL: string;
  warnings: string[];
  argv: string[];
  /** `process.version`. */
  nodeVersion: string;
  /** `${process.platform}-${process.arch}`. */
  platform: string;
  /** `run --shard`: which shard this folder holds, and the schedule every shard shared. */
  shard?: ShardSchedule;
  /** Threads that sent and read the load. */
  workers?: number;
  /** `merge`: the folders merged into this one. */
  mergedFrom?: MergedFolder[];
}

/** One folder a merged folder was made from, as its run.json said. */
export interface MergedFolder {
  dir: string;
  shard?: ShardSchedule;
  /** The repeat its records became, when whole runs were merged as repeats. */
  repeat?: number;
  completed: boolean;
  startedAt?: string;
  endedAt?: string;
}

/** run.json's `shard`: the share, the start time (ISO) and the gap. */
function shardJson(shard: ShardSchedule) {
  return {
    index: shard.share.index,
    count: shard.share.count,
    start_at: shard.startAtUnixMs === undefined ? null : new Date(shard.startAtUnixMs).toISOString(),
    gap_ms: shard.gapMs,
  };
}

/**
 * run.json's prompts: a dataset by its file, format, selection and the SHA-256 of its bytes, not
 * its entries (a large dataset would make run.json as large); inline prompts and a synthetic spec
 * as they are. A scenario read back from run.json (merge) has no entries: it passes unchanged.
 */
export function promptsOfRun(prompts: Scenario['prompts']): Scenario['prompts'] | Omit<DatasetPrompts, 'entries'> {
  if (Array.isArray(prompts) || !('dataset' in prompts)) return prompts;
  const { entries: _entries, ...provenance } = prompts;
  return provenance;
}

/** run.json: what ran, with what, when, and whether it finished. Secrets redacted. */
export function renderRunJson(info: RunInfo): string {
  const { scenario } = info;
  const target = {
    ...scenario.target,
    apiKey: scenario.target.apiKey === undefined ? undefined : '[redacted]',
    headers: Object.fromEntries(Object.keys(scenario.target.headers).map((name) => [name, '[redacted]'])),
  };
  return JSON.stringify(
    {
      tokenmeter: info.tokenmeterVersion,
      node: info.nodeVersion,
      platform: info.platform,
      started_at: info.startedAt.toISOString(),
      ended_at: info.endedAt.toISOString(),
      completed: info.completed,
      incomplete_reason: info.incompleteReason,
      base_url: info.baseURL,
      warnings: info.warnings,
      argv: info.argv,
      ...(info.shard ? { shard: shardJson(info.shard) } : {}),
      ...(info.workers !== undefined ? { workers: info.workers } : {}),
      ...(info.mergedFrom
        ? {
            merged_from: info.mergedFrom.map((folder) => ({
              dir: folder.dir,
              ...(folder.shard ? { shard: shardJson(folder.shard) } : {}),
              ...(folder.repeat !== undefined ? { repeat: folder.repeat } : {}),
              completed: folder.completed,
              started_at: folder.startedAt ?? null,
              ended_at: folder.endedAt ?? null,
            })),
          }
        : {}),
      scenario: { ...recordedScenario(scenario), target },
    },
    null,
    2,
  ) + '\n';
}
