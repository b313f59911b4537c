/**
 * Reading a results folder back (report, check, compare). Every file is
 * checked against what `run` writes, and a file that is missing, is not JSON,
 * or lacks a field `run` always writes is a usage error naming the file and
 * what is wrong: a corrupt folder fails closed (exit 2), it never passes a gate.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Histogram } from 'hdr-histogram-js';
import { z } from 'zod';
import type { RequestLine } from '../check/baseline.js';
import type { CellSummary } from '../metrics/cell-summary.js';
import { createHistogram, decodeHistogram, METRIC_NAMES } from '../metrics/histograms.js';
import { formatPath } from '../scenario/load.js';
import type { ProvenanceSource } from '../report/provenance.js';
import type { ShardSchedule } from '../load/shard-schedule.js';
import type { CapacityOutcome, SloBound, SweepOutcome } from '../types.js';
import { loadLabel } from '../util/format.js';
import { loadKey, loadOfFields } from '../util/load-level.js';
import { UsageError } from './exit-codes.js';
import { LOAD_FIELDS } from './request-records.js';

/** A file of the folder as text. */
async function readResultsFile(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is ${dir} a tokenmeter results folder?`);
  }
}

/** A results folder, read whole: what report, check and compare need from it. */
export interface ResultsFolder {
  /** run.json: false when Ctrl-C (or a file that could not be written) cut the run short. */
  completed: boolean;
  /** run.json: why the run did not complete, when it did not (folders written before it was kept have none). */
  incompleteReason?: string;
  /** run.json: the scenario's name, description and SLO bounds, as it ran. */
  scenario: { name: string; description?: string; slo: SloBound[] };
  /** run.json: ISO time the run ended. */
  endedAt?: string;
  /** run.json: what the report's provenance block is made from. */
  provenance: ProvenanceSource;
  /** summary.json's cells with histograms.json's histograms. */
  cells: CellSummary[];
  /** summary.json: `tokenmeter capacity`'s outcome per model. */
  capacity?: CapacityOutcome[];
  /** summary.json: `tokenmeter sweep`'s probes and rates per model. */
  sweep?: SweepOutcome[];
  /** requests.jsonl, one object per request. */
  lines: RequestLine[];
  /** run.json, as written (the whole scenario included): what `merge` compares and carries over. */
  runJson: RunJson;
  /** run.json's `shard`: which shard of a sharded run the folder holds. */
  shard?: ShardSchedule;
}

/**
 * Every file of a results folder, checked, even one the command does not
 * use: a folder with a missing or corrupt file is not what `run` wrote, and
 * a gate must not pass on it. One file after another, so a folder missing
 * several always names the same one first: run.json, which every folder has.
 */
export async function readResultsFolder(dir: string): Promise<ResultsFolder> {
  const run = await readJsonFile(dir, 'run.json', runJsonSchema);
  const summary = await readJsonFile(dir, 'summary.json', summaryJsonSchema);
  const histograms = await readJsonFile(dir, 'histograms.json', histogramsJsonSchema);
  let cells: CellSummary[];
  try {
    cells = joinCells(summary.cells as Omit<CellSummary, 'histograms'>[], histograms.cells);
  } catch (error) {
    throw new UsageError(`${path.join(dir, 'histograms.json')}: ${(error as Error).message}`);
  }
  const { name, description, slo } = run.scenario;
  return {
    completed: run.completed,
    ...(run.incomplete_reason !== undefined ? { incompleteReason: run.incomplete_reason } : {}),
    scenario: { name, ...(description !== undefined ? { description } : {}), slo: (slo ?? []) as SloBound[] },
    ...(run.ended_at !== undefined ? { endedAt: run.ended_at } : {}),
    provenance: provenanceSourceOfRunJson(run),
    cells,
    ...(summary.capacity ? { capacity: summary.capacity as CapacityOutcome[] } : {}),
    ...(summary.sweep ? { sweep: summary.sweep as SweepOutcome[] } : {}),
    lines: await readRequestLines(dir),
    runJson: run,
    ...(run.shard ? { shard: shardOf(run.shard) } : {}),
  };
}

function shardOf(shard: NonNullable<RunJson['shard']>): ShardSchedule {
  return {
    share: { index: shard.index, count: shard.count },
    gapMs: shard.gap_ms,
    ...(shard.start_at !== null ? { startAtUnixMs: Date.parse(shard.start_at) } : {}),
  };
}

/** run.json's facts, as `run` passed them to the report (report/provenance.ts): `report` rebuilds the same block. */
function provenanceSourceOfRunJson(run: z.output<typeof runJsonSchema>): ProvenanceSource {
  const { scenario } = run;
  return {
    ...(run.base_url !== undefined ? { baseURL: run.base_url } : {}),
    ...(run.tokenmeter !== undefined ? { tokenmeterVersion: run.tokenmeter } : {}),
    ...(run.node !== undefined ? { nodeVersion: run.node } : {}),
    ...(run.started_at !== undefined ? { startedAt: run.started_at } : {}),
    ...(run.ended_at !== undefined ? { endedAt: run.ended_at } : {}),
    completed: run.completed,
    scenario: {
      name: scenario.name,
      ...(scenario.file !== undefined ? { file: scenario.file } : {}),
      ...(scenario.target ? { target: scenario.target } : {}),
      ...(scenario.load ? { load: scenario.load } : {}),
      ...(scenario.params ? { params: scenario.params } : {}),
    },
  };
}

/** requests.jsonl, one checked object per line (blank lines skipped). */
async function readRequestLines(dir: string): Promise<RequestLine[]> {
  const file = path.join(dir, 'requests.jsonl');
  const text = await readResultsFile(dir, 'requests.jsonl');
  const lines: RequestLine[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `${file}:${i + 1}`;
    lines.push(validate(requestLineSchema, parseJson(where, line), where) as RequestLine);
  }
  return lines;
}

/**
 * Each summary cell with its histograms: histograms.json must list the same
 * cells in the same order, and every histogram must decode to as many values
 * as it and summary.json say. A metric absent from both is an empty histogram
 * (a folder written before that metric existed).
 */
function joinCells(summaryCells: readonly Omit<CellSummary, 'histograms'>[], histogramCells: readonly HistogramsCell[]): CellSummary[] {
  if (summaryCells.length !== histogramCells.length) {
    throw new Error(`has ${histogramCells.length} cells, but summary.json has ${summaryCells.length}: they are not from the same run`);
  }
  return summaryCells.map((cell, i): CellSummary => {
    const entry = histogramCells[i]!;
    const repeat = cell.repeat ?? (cell.repeats ? 'all' : undefined);
    const load = loadOfFields(entry);
    if (entry.model !== cell.model || !load || loadKey(load) !== loadKey(cell.load) || entry.repeat !== repeat) {
      throw new Error(`cells[${i}] is not summary.json's cells[${i}] (${cell.model} @ ${loadLabel(cell.load)}${repeat === undefined ? '' : ` repeat ${repeat}`})`);
    }
    const decoded = Object.fromEntries(
      METRIC_NAMES.map((metric): [string, Histogram] => {
        const where = `cells[${i}].histograms.${metric}`;
        const counted = cell.stats[metric]?.count ?? 0;
        const histogram = entry.histograms[metric];
        if (!histogram) {
          if (counted > 0) throw new Error(`${where} is missing, but summary.json counts ${counted} values`);
          return [metric, createHistogram()];
        }
        let value: Histogram;
        try {
          value = decodeHistogram(histogram.encoded);
        } catch (error) {
          throw new Error(`${where}.encoded does not decode as an HdrHistogram (${(error as Error).message})`);
        }
        if (value.totalCount !== histogram.count || value.totalCount !== counted) {
          throw new Error(`${where} decodes to ${value.totalCount} values, but its count is ${histogram.count} and summary.json counts ${counted}`);
        }
        return [metric, value];
      }),
    ) as CellSummary['histograms'];
    return { ...cell, histograms: decoded };
  });
}

async function readJsonFile<T extends z.ZodType>(dir: string, name: string, schema: T): Promise<z.output<T>> {
  const file = path.join(dir, name);
  return validate(schema, parseJson(file, await readResultsFile(dir, name)), file);
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** The parsed value, or a usage error naming the file and the first few problems with their paths. */
function validate<T extends z.ZodType>(schema: T, value: unknown, file: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  throw new UsageError(`${file}: not as tokenmeter writes it: ${problems.slice(0, 3).join('; ')}${more}`);
}

// What each file must hold: every field `run` always writes that a reader uses. Objects are loose,
// so a field a later version adds does not make an older reader refuse the file.

const count = z.number().int().nonnegative();
const loadKind = z.enum(['concurrency', 'rate']);

const sloBoundSchema = z.looseObject({
  key: z.string(),
  metric: z.enum([...METRIC_NAMES, 'error_rate']),
  stat: z.union([z.number(), z.enum(['mean', 'min', 'max'])]).optional(),
  bound: z.number(),
  direction: z.enum(['max', 'min']),
});

// The provenance fields are optional: a folder written before the report showed them still rebuilds.
const runJsonSchema = z.looseObject({
  completed: z.boolean({ error: 'must be true or false: whether the run finished' }),
  incomplete_reason: z.string().optional(),
  tokenmeter: z.string().optional(),
  node: z.string().optional(),
  base_url: z.string().optional(),
  started_at: z.string().optional(),
  ended_at: z.string().optional(),
  warnings: z.array(z.string()).optional(),
  shard: z
    .looseObject({
      index: count,
      count: z.number().int().positive(),
      start_at: z.iso.datetime({ offset: true }).nullable(),
      gap_ms: z.number().nonnegative(),
    })
    .refine((shard) => shard.index < shard.count, { message: 'index must be below count' })
    .optional(),
  scenario: z.looseObject(
    {
      name: z.string(),
      description: z.string().optional(),
      slo: z.array(sloBoundSchema).optional(),
      file: z.string().optional(),
      target: z.looseObject({ api: z.string().optional() }).optional(),
      load: z
        .looseObject({
          kind: z.string().optional(),
          levels: z.array(z.number()).optional(),
          requests: z.number().optional(),
          durationMs: z.number().optional(),
          warmup: z.number().optional(),
          warmupMs: z.number().optional(),
          arrival: z.string().optional(),
          burstiness: z.number().optional(),
        })
        .optional(),
      params: z.record(z.string(), z.unknown()).optional(),
    },
    { error: 'must be the scenario that ran' },
  ),
});

/** run.json as read: its checked fields, and every other field as written. */
export type RunJson = z.output<typeof runJsonSchema>;

const statsSchema = z.looseObject({
  count,
  min: z.number(),
  mean: z.number(),
  stdev: z.number(),
  p50: z.number(),
  p90: z.number(),
  p95: z.number(),
  p99: z.number(),
  p999: z.number(),
  max: z.number(),
});

/** A spread's min and max are null where no repeat had the metric (JSON writes Infinity as null). */
const spreadSchema = z.looseObject({ min: z.number().nullable(), max: z.number().nullable(), cv: z.number() });

const binCounts = z.array(count);
/** metrics/turns.ts's TurnSummary: one session turn's figures. */
const turnSchema = z.looseObject({
  turn: z.number().int().positive(),
  requests: count,
  ok: count,
  ttftP50Ms: z.number().optional(),
  ttftP95Ms: z.number().optional(),
  meanCachedPromptTokens: z.number().optional(),
  meanPromptTokens: z.number().optional(),
});

/** metrics/timeline.ts's CellTimeline: every per-bin list as long as the others. */
const timelineSchema = z
  .looseObject({
    startUnixMs: z.number(),
    binMs: z.number().positive(),
    firstBinMs: z.number().nonpositive(),
    measuredFromMs: z.number().nonnegative().optional(),
    window: z.looseObject({ startMs: z.number(), endMs: z.number() }).optional(),
    outputTokens: binCounts,
    inFlight: z.array(z.number().nonnegative()),
    started: binCounts,
    ended: binCounts,
    errors: binCounts,
    dropped: binCounts,
  })
  .refine((t) => [t.inFlight, t.started, t.ended, t.errors, t.dropped].every((bins) => bins.length === t.outputTokens.length), {
    message: 'every per-bin list must have one value per bin (as many as outputTokens)',
  });

/** A cell's load level, a ramp's or a trace's what-it-is included: the cell's identity. */
const summaryLoadSchema = z.looseObject({
  kind: loadKind,
  value: z.number().positive(),
  ramp: z.looseObject({ toRate: z.number().positive(), overMs: z.number().positive() }).optional(),
  trace: z.looseObject({ speedup: z.number().positive() }).optional(),
});

const summaryCellSchema = z.looseObject({
  model: z.string(),
  load: summaryLoadSchema,
  repeat: z.number().int().positive().optional(),
  requests: count,
  ok: count,
  errors: count,
  interrupted: count,
  dropped: count,
  // Folders written before resends were counted have none.
  resends: count.default(0),
  errorsByClass: z.record(z.string(), count),
  // Folders written before examples were kept have none.
  errorExamples: z.record(z.string(), z.looseObject({ status: z.number().optional(), message: z.string() })).default({}),
  errorRate: z.number(),
  windowS: z.number(),
  outputTokensPerS: z.number(),
  requestsPerS: z.number(),
  goodRequests: count.optional(),
  goodputPerS: z.number().optional(),
  slo: z.looseObject({ met: z.boolean(), checks: z.array(z.looseObject({ key: z.string(), bound: z.number(), direction: z.enum(['max', 'min']), ok: z.boolean() })) }).optional(),
  invalid: z.string().optional(),
  short: z.string().optional(),
  clientUtilization: z.number().optional(),
  clientMonitoredMs: z.number().nonnegative().optional(),
  startOffsetMs: z.number().nonnegative().optional(),
  repeats: z.looseObject({ count, spread: z.record(z.string(), spreadSchema) }).optional(),
  stats: z.partialRecord(z.enum(METRIC_NAMES), statsSchema),
  tokenSources: z.record(z.string(), count),
  tokenizer: z.string(),
  usageMismatchRate: z.number(),
  usageMismatchMean: z.number(),
  // Folders written before token sources were validated have neither.
  approximateRate: z.number().default(0),
  serverCountsRejected: count.default(0),
  // Folders written before the timeline was kept have none.
  timeline: timelineSchema.optional(),
  // Session cells only (metrics/turns.ts's TurnSummary).
  byTurn: z.array(turnSchema).optional(),
});

const capacitySchema = z.looseObject({
  model: z.string(),
  kind: loadKind,
  best: z.number().optional(),
  firstFailure: z.looseObject({ load: z.number(), reason: z.string() }).optional(),
  steps: z.array(z.looseObject({ load: z.number(), met: z.boolean(), reason: z.string().optional() })),
  tolerance: z.number(),
  reachedMax: z.boolean(),
  interrupted: z.boolean().optional(),
});

const sweepSchema = z.looseObject({
  model: z.string(),
  synchronousRps: z.number().optional(),
  maxConcurrency: z.number().int().positive(),
  throughputRps: z.number().optional(),
  rates: z.array(z.number().positive()),
  stopped: z.string().optional(),
  interrupted: z.boolean().optional(),
});

const summaryJsonSchema = z.looseObject({
  cells: z.array(summaryCellSchema, { error: 'must be the list of cells' }),
  capacity: z.array(capacitySchema).optional(),
  sweep: z.array(sweepSchema).optional(),
});

const histogramsCellSchema = z.looseObject({
  model: z.string(),
  ...LOAD_FIELDS,
  repeat: z.union([z.number().int().positive(), z.literal('all')]).optional(),
  histograms: z.record(z.string(), z.looseObject({ count, encoded: z.string() })),
});
type HistogramsCell = z.output<typeof histogramsCellSchema>;

const histogramsJsonSchema = z.looseObject({
  format: z.literal('hdrhistogram-compressed-base64', { error: 'must be "hdrhistogram-compressed-base64"' }),
  cells: z.array(histogramsCellSchema, { error: 'must be the list of cells' }),
});

/** The per-request fields check and compare take samples from: a number, or null where the request has none. */
const SAMPLE_FIELDS = ['ttft_ms', 'ttfo_ms', 'tpot_ms', 'e2e_ms', 'ttfb_ms', 'scheduled_ttft_ms', 'output_tokens_per_s', 'decode_tokens_per_s'];

const requestLineSchema = z
  .looseObject({
    model: z.string(),
    ...LOAD_FIELDS,
    warmup: z.boolean(),
    outcome: z.enum(['ok', 'error', 'dropped']),
    error: z.looseObject({ class: z.string() }).nullable().optional(),
    ...Object.fromEntries(SAMPLE_FIELDS.map((field) => [field, z.number().nullable().optional()])),
  })
  .refine((line) => (line.concurrency === undefined) !== (line.rate === undefined), { message: 'must have concurrency or rate (one of them)' });
