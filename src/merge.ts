/**
 * `tokenmeter merge`: results folders of one scenario become one run, as if
 * one process had sent it all (issue 14).
 *
 * - The shards of one run (`run --shard i/N`, one start time): each cell's
 *   records, from every shard, go through the one CellAccumulator a single
 *   process uses: histograms are the union's, exactly; the throughput window
 *   is computed from the records' Unix times. What only a shard's process saw
 *   of itself (its event-loop delay and utilization, how late it started) is
 *   added from its summary, and a cell is invalid when a shard's part was,
 *   with that shard named.
 * - Several whole runs (or several shard sets) of the scenario: each is one
 *   repeat, merged as `run --repeat` merges its repeats (metrics/cell-summary.ts
 *   mergeRepeats): histograms added, windows summed, the spread reported.
 *
 * Pure: the folders come in read and checked (cli/commands/merge.ts); a
 * RunResult and the merged requests.jsonl lines go out, which the pipeline's
 * renderers and verdicts take as they take a run's.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { ShardSchedule } from './load/shard-schedule.js';
import { shardLabel } from './load/shard-schedule.js';
import { CellAccumulator, mergeRepeats, type CellOptions, type CellSummary, type WindowEdges } from './metrics/cell-summary.js';
import type { RunResult } from './pipeline.js';
import type { CellKey, RequestRecord, Scenario } from './types.js';
import { loadLabel } from './util/format.js';
import { cellId } from './util/load-level.js';

/** One results folder, read. */
export interface MergeInput {
  /** Where it was read from: how messages and run.json name it. */
  dir: string;
  /** run.json's `shard`; undefined for a whole run. */
  shard?: ShardSchedule;
  /** run.json: false when the run was cut short. */
  completed: boolean;
  /** run.json's warnings. */
  warnings: string[];
  /** run.json: when the run started and ended. */
  startedAt?: Date;
  endedAt?: string;
  /** Its cells, summary.json with histograms.json's histograms. */
  cells: CellSummary[];
  /** requests.jsonl: each line as written, and the record and edges it parses into (cli/request-records.ts). */
  requests: { line: Record<string, unknown>; record: RequestRecord; edges: WindowEdges }[];
}

/** One run among the inputs: a whole run's folder, or the shards of one sharded run. */
export interface MergeRun {
  /** Its folders, shards in index order. */
  inputs: MergeInput[];
  /** Shards the run has (1 for a whole run). */
  count: number;
}

export interface MergeOutcome {
  result: RunResult;
  /** requests.jsonl: every line, cell by cell, shard by shard (with `repeat` when whole runs became repeats). */
  lines: Record<string, unknown>[];
}

/**
 * The inputs as runs: folders with the same shard count, start time and gap are one sharded run.
 * Returns every reason the set cannot be merged (same shard twice, a shard missing, an
 * incomplete run unless allowed, shard counts that disagree for one start time).
 */
export function groupRuns(inputs: readonly MergeInput[], allowIncomplete: boolean): { runs: MergeRun[]; problems: string[] } {
  const problems: string[] = [];
  const byStart = new Map<string, MergeInput[]>();
  const runs: MergeRun[] = [];
  for (const input of inputs) {
    if (!input.shard) {
      runs.push({ inputs: [input], count: 1 });
      continue;
    }
    const start = input.shard.startAtUnixMs === undefined ? 'now' : new Date(input.shard.startAtUnixMs).toISOString();
    byStart.set(start, [...(byStart.get(start) ?? []), input]);
  }
  for (const [start, shards] of byStart) {
    const counts = new Set(shards.map((input) => input.shard!.share.count));
    const gaps = new Set(shards.map((input) => input.shard!.gapMs));
    if (counts.size > 1 || gaps.size > 1) {
      problems.push(`inconsistent shards of the run starting at ${start}: ${shards.map((input) => `${input.dir} is shard ${shardLabel(input.shard!.share)} (gap ${input.shard!.gapMs} ms)`).join(', ')}`);
      continue;
    }
    const count = [...counts][0]!;
    const byIndex = new Map<number, MergeInput>();
    for (const input of shards) {
      const index = input.shard!.share.index;
      const other = byIndex.get(index);
      if (other) problems.push(`${other.dir} and ${input.dir} are both shard ${index}/${count} of the run starting at ${start}: their requests overlap`);
      else byIndex.set(index, input);
    }
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
    if (missing.length > 0 && !allowIncomplete) {
      problems.push(`the run starting at ${start} has ${count} shards, but shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not given (--allow-incomplete merges what there is)`);
    }
    runs.push({ inputs: [...byIndex.values()].sort((a, b) => a.shard!.share.index - b.shard!.share.index), count });
  }
  if (!allowIncomplete) {
    for (const input of inputs) {
      if (!input.completed) problems.push(`${input.dir} is an incomplete run (run.json says completed: false) (--allow-incomplete merges it anyway)`);
    }
  }
  if (runs.length > 1) {
    for (const input of inputs) {
      if (input.cells.some((cell) => cell.repeat !== undefined)) {
        problems.push(`${input.dir} ran with --repeat, and the folders are ${runs.length} runs: merge can make the runs repeats, or merge one run's shards, not both`);
      }
    }
  }
  return { runs, problems };
}

/** How a folder is named in a reason: its shard, or its directory for a whole run. */
const partLabel = (input: MergeInput): string => (input.shard ? `shard ${shardLabel(input.shard.share)}` : input.dir);

/** A cell's identity in one run: its cellId (model and load level) and its repeat. */
const runCellId = (key: CellKey): string => `${cellId(key)}\u0000${key.repeat ?? ''}`;

/** The runs as one result: each run's cells accumulated from its shards' records; several runs merged as repeats. */
export function mergeRuns(runs: readonly MergeRun[], options: CellOptions): MergeOutcome {
  const asRepeats = runs.length > 1;
  // Each run's cells (its own repeats included), in the order its first folder ran them.
  const cells: { key: CellKey; accumulator: CellAccumulator; summary: CellSummary; lines: Record<string, unknown>[] }[] = [];
  for (const [r, run] of runs.entries()) {
    const repeat = asRepeats ? r + 1 : undefined;
    const requestsOf = new Map(run.inputs.map((input) => [input, requestsByCell(input)]));
    for (const key of cellKeysOf(run)) {
      const accumulator = new CellAccumulator(repeat === undefined ? key : { ...key, repeat }, options);
      const lines: Record<string, unknown>[] = [];
      for (const input of run.inputs) {
        const part = input.cells.find((cell) => cell.repeats === undefined && runCellId(cell) === runCellId(key));
        for (const { line, record, edges } of requestsOf.get(input)!.get(runCellId(key)) ?? []) {
          accumulator.add(repeat === undefined ? record : { ...record, repeat }, edges);
          lines.push(repeat === undefined ? line : { ...line, repeat });
        }
        if (part) accumulator.addPart(processPart(partLabel(input), part));
      }
      cells.push({ key: repeat === undefined ? key : { ...key, repeat }, accumulator, summary: accumulator.summary(), lines });
    }
  }
  const merged: CellSummary[] = [];
  const cellsInOrder: CellSummary[] = [];
  const lines: Record<string, unknown>[] = [];
  // As `run --repeat` yields them: each cell's repeats, then (after them all) the merged cells.
  const repeatsOf = new Map<string, typeof cells>();
  for (const cell of cells) {
    const repeats = repeatsOf.get(cellId(cell.key));
    if (repeats) repeats.push(cell);
    else repeatsOf.set(cellId(cell.key), [cell]);
  }
  for (const repeats of repeatsOf.values()) {
    for (const repeat of repeats) {
      cellsInOrder.push(repeat.summary);
      // Not push(...lines): spread arguments overflow the stack past ~10⁵ items (a large cell's requests).
      for (const line of repeat.lines) lines.push(line);
    }
    if (repeats.some((repeat) => repeat.key.repeat !== undefined)) merged.push(mergeRepeats(repeats, options));
  }
  const inputs = runs.flatMap((run) => run.inputs);
  const completed = inputs.every((input) => input.completed) && runs.every((run) => run.inputs.length === run.count);
  return {
    result: { cells: [...cellsInOrder, ...merged], completed, warnings: [...new Set(inputs.flatMap((input) => input.warnings))] },
    lines,
  };
}

/** The cells a run holds (per repeat, merged rows left out), in the order its folders list them. */
function cellKeysOf(run: MergeRun): CellKey[] {
  const keys = new Map<string, CellKey>();
  for (const input of run.inputs) {
    for (const cell of input.cells) {
      if (cell.repeats !== undefined) continue;
      const key: CellKey = { model: cell.model, load: cell.load, ...(cell.repeat !== undefined ? { repeat: cell.repeat } : {}) };
      if (!keys.has(runCellId(key))) keys.set(runCellId(key), key);
    }
  }
  return [...keys.values()];
}

/** What a folder's summary of a cell says of its process: its client health, its start offset, its verdict. */
function processPart(label: string, cell: CellSummary): Parameters<CellAccumulator['addPart']>[0] {
  return {
    label,
    loopDelay: cell.histograms.client_loop_delay as Histogram,
    ...(cell.clientUtilization !== undefined ? { utilization: cell.clientUtilization } : {}),
    ...(cell.clientMonitoredMs !== undefined ? { monitoredMs: cell.clientMonitoredMs } : {}),
    ...(cell.startOffsetMs !== undefined ? { startOffsetMs: cell.startOffsetMs } : {}),
    ...(cell.invalid !== undefined ? { invalid: cell.invalid } : {}),
  };
}

/** A folder's requests by their cell (runCellId), each cell's in file order; the cells in the order their first request comes. */
function requestsByCell(input: MergeInput): Map<string, MergeInput['requests']> {
  const groups = new Map<string, MergeInput['requests']>();
  for (const request of input.requests) {
    const id = runCellId(request.record);
    const group = groups.get(id);
    if (group) group.push(request);
    else groups.set(id, [request]);
  }
  return groups;
}

/** A record whose cell no summary lists (the first of the first such group: the first such in the file): the folder's files are not of one run. */
export function strayRecords(input: MergeInput): string | undefined {
  const cells = new Set(input.cells.map((cell) => runCellId(cell)));
  const stray = [...requestsByCell(input)].find(([id]) => !cells.has(id))?.[1][0];
  return stray ? `${input.dir}/requests.jsonl has request ${stray.record.id} of ${stray.record.model} @ ${loadLabel(stray.record.load)}, a cell summary.json does not list` : undefined;
}

/** Scenario fields that may differ between the runs of one scenario: where the file was, and how it was overridden. */
const IGNORED_SCENARIO_FIELDS = new Set(['file', 'overrides']);

/**
 * Where two runs' scenarios differ (dot paths, at most five), as their run.json files hold them:
 * models, params, prompts, tokenizers, load, target, seed, SLO, thresholds. Empty when the same.
 * A dataset or a trace is told apart by its bytes' hash (`prompts.sha256`, `load.trace.sha256`), not
 * where it was read from: the same file in another checkout (a CI baseline, another shard's
 * machine) is the same dataset, the same trace. A trace's prompts (`prompts: {trace, file, lines}`)
 * are its lines: their file is the trace's, and its hash is `load.trace.sha256`.
 */
export function scenarioDifferences(a: Scenario | Record<string, unknown>, b: Scenario | Record<string, unknown>): string[] {
  const paths: string[] = [];
  const traceHash = (scenario: unknown): unknown => {
    const load = isObject(scenario) ? scenario['load'] : undefined;
    return isObject(load) && isObject(load['trace']) ? load['trace']['sha256'] : undefined;
  };
  const tracesHashed = typeof traceHash(a) === 'string' && typeof traceHash(b) === 'string';
  const walk = (x: unknown, y: unknown, at: string): void => {
    if (paths.length >= 5) return;
    if (at === 'prompts' && Array.isArray(x) !== Array.isArray(y) && [x, y].some((side) => isObject(side) && side['dataset'] === true)) {
      // Before files were kept by hash, run.json listed a prompt file's prompts: say so, or the difference is a riddle.
      paths.push('prompts (one run lists its prompts, the other names a file by its hash: a run recorded before tokenmeter kept prompt files by hash looks so; record it again)');
      return;
    }
    if (isObject(x) && isObject(y)) {
      const hashedHere = (at === 'prompts' || at === 'load.trace') && typeof x['sha256'] === 'string' && typeof y['sha256'] === 'string';
      const traceLines = at === 'prompts' && x['trace'] === true && y['trace'] === true && tracesHashed;
      const hashed = hashedHere || traceLines;
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (at === '' && IGNORED_SCENARIO_FIELDS.has(key)) continue;
        if (hashed && key === 'file') continue;
        walk(x[key], y[key], at === '' ? key : `${at}.${key}`);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
      x.forEach((item, i) => walk(item, y[i], `${at}[${i}]`));
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) paths.push(at);
  };
  walk(a, b, '');
  return paths;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
