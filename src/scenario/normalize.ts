import path from 'node:path';
/** Validated raw scenario → the Scenario the rest of tokenmeter uses: defaults filled, shapes unified. */
import {
  DEFAULT_SIM_PROFILE,
  DEFAULT_SWEEP_RATES,
  type DatasetPrompts,
  type LengthDistribution,
  type LoadSpec,
  type Prompt,
  type Scenario,
  type SimConfig,
  type SimModelProfile,
  type SloBound,
  type SweepSpec,
  type SyntheticPrompts,
  type ThinkTime,
  type TracePrompts,
} from '../types.js';
import { DEFAULT_SYNTHETIC_PROMPTS, HF_TOKENIZER_PATTERN, TOKENIZER_FILE_PATTERN, type RawLength, type RawScenario, type RawSimProfile } from './schema.js';
import { readDatasetFile } from './datasets.js';
import { readTrace, TraceFileError, type Trace } from './trace-file.js';
import { parseSloKey } from './slo.js';
import { parseThreshold } from './thresholds.js';
import { durationMs } from '../util/duration.js';

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_SCHEDULE_LAG_MS = 10;
/** `load.maxClientLag` when unset, ms: the client's event-loop delay p99 beyond which a cell is invalid. */
export const DEFAULT_MAX_CLIENT_LAG_MS = 10;
/**
 * `load.maxStartOffset` when unset, ms: how late a shard may start a cell. A second is far beyond
 * what NTP-synchronized clocks and a process's timer disagree by (a few ms), and small beside the
 * durations a sharded cell runs for; a shard later than that missed its start (a pod scheduled
 * late, the previous cell's requests still draining), and its load did not overlap the others'.
 */
export const DEFAULT_MAX_START_OFFSET_MS = 1000;
export const DEFAULT_MAX_IN_FLIGHT = 1000;
/** Upper clamp of normal and lognormal lengths when the scenario sets none, tokens. */
const DEFAULT_MAX_LENGTH = 32_768;

/** A tokenizer file's path is relative to the scenario file; built-in names and hf:ORG/NAME stay as they are. */
function resolveTokenizer(tokenizer: string, file: string): string {
  return TOKENIZER_FILE_PATTERN.test(tokenizer) && !HF_TOKENIZER_PATTERN.test(tokenizer) ? path.resolve(path.dirname(file), tokenizer) : tokenizer;
}

export function normalizeScenario(raw: RawScenario, file: string): Scenario {
  const target = raw.target;
  const trace = raw.load.trace === undefined ? undefined : readScenarioTrace(raw.load.trace, file);
  const scenario: Scenario = {
    name: raw.name,
    file,
    target: {
      api: target.api ?? 'chat',
      provider: target.provider ?? 'generic',
      baseURL: target.baseURL,
      headers: target.headers ?? {},
      timeoutMs: target.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(target.timeout),
      idleTimeoutMs: target.idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT_MS : durationMs(target.idleTimeout),
      newConnectionPerRequest: target.newConnectionPerRequest ?? false,
      simulator: normalizeSimulator(target.simulator),
    },
    models: raw.models.map((model) =>
      typeof model === 'string'
        ? { name: model, params: {} }
        : { name: model.name, params: model.params ?? {}, ...(model.tokenizer ? { tokenizer: resolveTokenizer(model.tokenizer, file) } : {}) },
    ),
    load: normalizeLoad(raw.load, trace),
    prompts: trace ? trace.prompts : normalizePrompts(raw.prompts!, file),
    seed: raw.seed ?? 1,
    slo: Object.entries(raw.slo ?? {}).map(([key, bound]) => parseSloKey(key, bound) as SloBound),
    thresholds: (raw.thresholds ?? []).map((expression) => parseThreshold(expression as string)),
    capacity: { start: raw.capacity?.start ?? 1, max: raw.capacity?.max ?? 1024, tolerance: raw.capacity?.tolerance ?? 1 },
    sweep: normalizeSweep(raw),
    params: raw.params ?? {},
  };
  if (target.apiKey !== undefined && target.apiKey !== '') scenario.target.apiKey = target.apiKey;
  if (raw.description !== undefined) scenario.description = raw.description;
  return scenario;
}

/**
 * The sweep's bounds: the scenario's, else 10 rates. An unset maxConcurrency stays unset: its
 * default follows the load levels (load/sweep.ts), which a `--set` may still change.
 */
function normalizeSweep(raw: RawScenario): SweepSpec {
  const sweep: SweepSpec = { rates: raw.sweep?.rates ?? DEFAULT_SWEEP_RATES };
  if (raw.sweep?.maxConcurrency !== undefined) sweep.maxConcurrency = raw.sweep.maxConcurrency;
  return sweep;
}

/** A scenario's trace, read now (relative to the scenario; it throws TraceFileError): its arrival times and its prompts. */
interface ScenarioTrace {
  file: string;
  trace: Trace;
  /** Its arrivals' times from the trace's start, ms, in order. */
  offsetsMs: number[];
  speedups: number[];
  prompts: TracePrompts;
}

function readScenarioTrace(raw: NonNullable<RawScenario['load']['trace']>, file: string): ScenarioTrace {
  const spec = typeof raw === 'string' ? { file: raw } : raw;
  const resolved = path.resolve(path.dirname(file), spec.file);
  const trace = readTrace(resolved);
  const offsetsMs = trace.arrivals.map((arrival) => arrival.offsetMs);
  if (offsetsMs[offsetsMs.length - 1]! <= offsetsMs[0]!) {
    throw new TraceFileError([`${resolved}: needs arrivals at two or more different times (a cell's rate is its arrivals over the trace's span)`]);
  }
  const lines = trace.arrivals.map(({ offsetMs: _, ...line }) => line);
  return { file: resolved, trace, offsetsMs, speedups: [spec.speedup ?? 1].flat(), prompts: { trace: true, file: resolved, lines } };
}

/**
 * A trace cell's load level: its mean arrival rate (arrivals after the first, over the span from
 * the first to the last), times the speed-up, req/s: what the cell offered, as a rate cell's value is.
 */
export function traceRatePerS(offsetsMs: readonly number[], speedup: number): number {
  const spanS = (offsetsMs[offsetsMs.length - 1]! - offsetsMs[0]!) / 1000;
  return ((offsetsMs.length - 1) / spanS) * speedup;
}

function normalizeLoad(raw: RawScenario['load'], trace: ScenarioTrace | undefined): LoadSpec {
  const rate = raw.rate;
  const ramp = typeof rate === 'object' && !Array.isArray(rate) ? rate : undefined;
  const levels = trace
    ? trace.speedups.map((speedup) => traceRatePerS(trace.offsetsMs, speedup))
    : ramp
      ? [ramp.from]
      : ((raw.concurrency ?? rate) as number | number[]);
  const load: LoadSpec = {
    kind: raw.concurrency !== undefined ? 'concurrency' : 'rate',
    levels: typeof levels === 'number' ? [levels] : levels,
    arrival: raw.arrival ?? 'constant',
    maxInFlight: raw.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    maxScheduleLagMs: raw.maxScheduleLag === undefined ? DEFAULT_MAX_SCHEDULE_LAG_MS : durationMs(raw.maxScheduleLag),
    maxClientLagMs: raw.maxClientLag === undefined ? DEFAULT_MAX_CLIENT_LAG_MS : durationMs(raw.maxClientLag),
    maxStartOffsetMs: raw.maxStartOffset === undefined ? DEFAULT_MAX_START_OFFSET_MS : durationMs(raw.maxStartOffset),
  };
  if (ramp) load.ramp = { toRate: ramp.to, overMs: durationMs(ramp.over) };
  if (trace) {
    load.trace = { file: trace.file, sha256: trace.trace.sha256, speedups: trace.speedups, offsetsMs: trace.offsetsMs };
  }
  if (raw.burstiness !== undefined) load.burstiness = raw.burstiness;
  if (raw.maxClientUtilization !== undefined) load.maxClientUtilization = raw.maxClientUtilization;
  if (raw.workers !== undefined) load.workers = raw.workers;
  if (raw.requests !== undefined) load.requests = raw.requests;
  if (raw.duration !== undefined) load.durationMs = durationMs(raw.duration);
  if (typeof raw.warmup === 'number') load.warmup = raw.warmup;
  else if (raw.warmup !== undefined) load.warmupMs = durationMs(raw.warmup);
  if (raw.thinkTime !== undefined) load.thinkTime = thinkTime(raw.thinkTime);
  return load;
}

function thinkTime(raw: NonNullable<RawScenario['load']['thinkTime']>): ThinkTime {
  if (typeof raw !== 'object') return { kind: 'fixed', ms: durationMs(raw) };
  switch (raw.distribution) {
    case 'fixed':
      return { kind: 'fixed', ms: durationMs(raw.value) };
    case 'uniform':
      return { kind: 'uniform', minMs: durationMs(raw.min), maxMs: durationMs(raw.max) };
    case 'exponential':
      return { kind: 'exponential', meanMs: durationMs(raw.mean) };
  }
}

/**
 * Inline prompts become message lists; a prompt or dataset file (relative to the scenario)
 * is read now (it throws PromptFileError), a dataset's filters and limit applied per model at
 * run time (lengths count in the model's tokenizer); synthetic ones are built per model at run time.
 * A plain JSONL prompt file is a dataset too, with nothing to select (every model gets its prompts
 * in file order): so run.json keeps it by its path and hash, as any dataset, not its prompts.
 */
function normalizePrompts(raw: NonNullable<RawScenario['prompts']>, file: string): Prompt[] | SyntheticPrompts | DatasetPrompts {
  if ('file' in raw) {
    const { file: dataFile, format = 'jsonl', sample = 'first', ...selection } = raw;
    const resolved = path.resolve(path.dirname(file), dataFile);
    // `turns` is kept as it is (a count or all), not as a filter: the loop below takes numbers only.
    const { turns, ...filters } = selection;
    const { entries, skipped, sha256 } = readDatasetFile(resolved, format, turns !== undefined);
    const dataset: DatasetPrompts = { dataset: true, file: resolved, format, sha256, entries, skipped, sample };
    if (turns !== undefined) dataset.turns = turns;
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) (dataset as unknown as Record<string, number>)[key] = value;
    return dataset;
  }
  if ('synthetic' in raw) {
    const synthetic: SyntheticPrompts = {
      synthetic: true,
      count: raw.synthetic.count ?? DEFAULT_SYNTHETIC_PROMPTS,
      inputTokens: lengthDistribution(raw.synthetic.inputTokens),
    };
    if (raw.synthetic.outputTokens !== undefined) synthetic.outputTokens = lengthDistribution(raw.synthetic.outputTokens);
    if (raw.synthetic.turns !== undefined) synthetic.turns = raw.synthetic.turns;
    if (raw.synthetic.followUpTokens !== undefined) synthetic.followUpTokens = lengthDistribution(raw.synthetic.followUpTokens);
    const prefix = raw.synthetic.sharedPrefix;
    if (prefix !== undefined) synthetic.sharedPrefix = { tokens: prefix.tokens, groups: prefix.groups ?? 1, as: prefix.as ?? 'system' };
    return synthetic;
  }
  return raw.map((prompt): Prompt => {
    if (typeof prompt === 'string') return { messages: [{ role: 'user', content: prompt }] };
    return { messages: prompt.messages, ...(prompt.max_tokens !== undefined ? { maxTokens: prompt.max_tokens } : {}) };
  });
}

function lengthDistribution(raw: RawLength): LengthDistribution {
  if (typeof raw === 'number') return { kind: 'fixed', value: raw };
  switch (raw.distribution) {
    case 'fixed':
      return { kind: 'fixed', value: raw.value };
    case 'uniform':
      return { kind: 'uniform', min: raw.min, max: raw.max };
    default:
      return { kind: raw.distribution, mean: raw.mean, stdev: raw.stdev, min: raw.min ?? 1, max: raw.max ?? DEFAULT_MAX_LENGTH };
  }
}

function normalizeSimulator(raw: NonNullable<RawScenario['target']['simulator']> | undefined): SimConfig {
  const defaults = profile(DEFAULT_SIM_PROFILE, raw?.defaults);
  const models: Record<string, SimModelProfile> = {};
  for (const [name, overrides] of Object.entries(raw?.models ?? {})) models[name] = profile(defaults, overrides);
  return { seed: raw?.seed ?? 1, defaults, models };
}

function profile(base: SimModelProfile, overrides: RawSimProfile | undefined): SimModelProfile {
  const merged = { ...base };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
