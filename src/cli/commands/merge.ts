/**
 * `tokenmeter merge DIR... --out DIR`: the results folders of one scenario's
 * shards (or of its repeated runs) as one results folder with every file `run`
 * writes, its verdicts judged again (src/merge.ts does the merging). Folders
 * that cannot be one run are refused, exit 2, with every reason at once.
 */
import path from 'node:path';
import { cellOptions, judgeThresholds, renderResultFiles, type RunContext } from '../../pipeline.js';
import { groupRuns, mergeRuns, scenarioDifferences, strayRecords, type MergeInput } from '../../merge.js';
import { renderSummaryTable } from '../../report/console.js';
import type { MergedFolder } from '../../report/json.js';
import type { Scenario } from '../../types.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { AtomicFile, createOutputDir, writeFileAtomic } from '../files.js';
import { recordOfLine } from '../request-records.js';
import { readResultsFolder, type ResultsFolder } from '../results-folder.js';
import { TOKENMETER_VERSION } from '../version.js';
import { exitOf, writeCiOutputs, type Io } from './run.js';

export interface MergeArgs {
  /** The folders to merge, in the order given. */
  results: string[];
  out: string;
  /** Merge incomplete runs (completed: false) and shard sets with shards missing; the merged run is then incomplete too. */
  allowIncomplete?: boolean;
  argv?: string[];
}

export async function mergeCommand(args: MergeArgs, io: Io): Promise<number> {
  if (args.results.length === 0) throw new UsageError('name the results folders to merge');
  const folders = [];
  for (const dir of args.results) folders.push({ dir, folder: await readResultsFolder(dir) });
  const scenario = folders[0]!.folder.runJson.scenario as unknown as Scenario;
  const problems: string[] = [];
  for (const { dir, folder } of folders.slice(1)) {
    const differences = scenarioDifferences(scenario, folder.runJson.scenario);
    if (differences.length > 0) problems.push(`${dir} ran a different scenario from ${folders[0]!.dir} (they differ in ${differences.join(', ')})`);
  }
  const inputs = folders.map(({ dir, folder }) => mergeInputOf(dir, folder));
  for (const input of inputs) {
    const stray = strayRecords(input);
    if (stray) problems.push(stray);
  }
  const { runs, problems: grouping } = groupRuns(inputs, args.allowIncomplete === true);
  problems.push(...grouping);
  if (problems.length > 0) throw new UsageError(`cannot merge these folders:\n  ${problems.join('\n  ')}`);

  const { result, lines } = mergeRuns(runs, cellOptions(scenario));
  const startedAt = earliest(inputs.map((input) => input.startedAt)) ?? new Date();
  const endedAt = new Date();
  const outDir = await createOutputDir(args.out, `${scenario.name}-merged`, endedAt, undefined, io.fs);
  const mergedFrom: MergedFolder[] = runs.flatMap((run, r) =>
    run.inputs.map((input) => ({
      dir: input.dir,
      ...(input.shard ? { shard: input.shard } : {}),
      ...(runs.length > 1 ? { repeat: r + 1 } : {}),
      completed: input.completed,
      ...(input.startedAt ? { startedAt: input.startedAt.toISOString() } : {}),
      ...(input.endedAt ? { endedAt: input.endedAt } : {}),
    })),
  );
  const baseURLs = [...new Set(folders.map(({ folder }) => folder.runJson.base_url).filter((url): url is string => url !== undefined))];
  const context: RunContext = {
    startedAt,
    endedAt,
    baseURL: baseURLs.join(', '),
    argv: args.argv ?? [],
    tokenmeterVersion: TOKENMETER_VERSION,
    mergedFrom,
    incompleteReason: incompleteReasonOf(runs),
  };
  // Line by line, as `run` writes it: the lines joined as one string could pass Node's string limit.
  const requestsFile = await AtomicFile.open(path.join(outDir, 'requests.jsonl'), io.fs);
  for (const line of lines) await requestsFile.write(`${JSON.stringify(line)}\n`);
  await requestsFile.commit();
  const files = await renderResultFiles(scenario, result, context);
  // run.json last, as `run` writes it: a folder with a run.json is whole.
  const { 'run.json': runJson, ...rest } = files;
  for (const [name, text] of Object.entries(rest)) await writeFileAtomic(path.join(outDir, name), text, io.fs);
  await writeFileAtomic(path.join(outDir, 'run.json'), runJson!, io.fs);
  io.stderr.write(`merged ${inputs.length} folder${inputs.length > 1 ? 's' : ''} (${runs.length} run${runs.length > 1 ? 's, as repeats' : ''}) into ${outDir}\n`);

  io.stdout.write(renderSummaryTable(result.cells));
  const exit = exitOf(result);
  for (const message of exit.messages) io.stderr.write(message);
  const verdict = judgeThresholds(scenario, result);
  if (!verdict) return exit.code;
  io.stdout.write(verdict.lines);
  await writeCiOutputs(outDir, io, verdict);
  return exit.code === ExitCode.OK && verdict.failed ? ExitCode.THRESHOLDS_FAILED : exit.code;
}

/** A folder as merge takes it: every request line parsed back into its record (cli/request-records.ts). */
function mergeInputOf(dir: string, folder: ResultsFolder): MergeInput {
  const requests = folder.lines.map((line, i) => {
    try {
      return { line: line as Record<string, unknown>, ...recordOfLine(line) };
    } catch (error) {
      throw new UsageError(`${path.join(dir, 'requests.jsonl')}:${i + 1}: cannot merge this request: ${(error as Error).message}`);
    }
  });
  const startedAt = folder.runJson.started_at === undefined ? undefined : new Date(folder.runJson.started_at);
  return {
    dir,
    completed: folder.completed,
    warnings: folder.runJson.warnings ?? [],
    cells: folder.cells,
    requests,
    ...(folder.shard ? { shard: folder.shard } : {}),
    ...(startedAt && !Number.isNaN(startedAt.getTime()) ? { startedAt } : {}),
    ...(folder.endedAt !== undefined ? { endedAt: folder.endedAt } : {}),
  };
}

/** Why the merged run is incomplete (run.json's incomplete_reason), when it is. */
function incompleteReasonOf(runs: ReturnType<typeof groupRuns>['runs']): string {
  const reasons = runs.flatMap((run) => [
    ...run.inputs.filter((input) => !input.completed).map((input) => `${input.dir} is incomplete`),
    ...(run.inputs.length < run.count ? [`${run.count - run.inputs.length} of ${run.count} shards missing`] : []),
  ]);
  return `merged with --allow-incomplete: ${reasons.join('; ')}`;
}

const earliest = (dates: readonly (Date | undefined)[]): Date | undefined =>
  dates.reduce<Date | undefined>((min, date) => (date && (!min || date < min) ? date : min), undefined);
