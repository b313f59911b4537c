/**
 * `tokenmeter run SCENARIO`: the simulator if the scenario asks for it, the
 * pipeline (src/pipeline.ts), and the files. The CLI only writes what the
 * pipeline renders and shows what it reports.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { collectRun, judgedCells, judgeThresholds, renderResultFiles, runInfoOf, scenarioEvents, workerCount, type PipelineOptions, type RunContext, type RunEvent, type RunResult } from '../../pipeline.js';
import { renderSummaryTable } from '../../report/console.js';
import { renderRequestLine, renderRunJson } from '../../report/json.js';
import { checkTokenizerFiles } from '../../load/workload.js';
import { startSimulatorThread, type ThreadedSimulator } from '../../sim/threaded.js';
import type { Scenario } from '../../types.js';
import { cellName } from '../../util/format.js';
import { SecretScrubber, secretsOf } from '../../util/secrets.js';
import { timedSpanMs } from '../../load/cell-load.js';
import { shardLabel, type ShardSchedule } from '../../load/shard-schedule.js';
import { preflight } from '../preflight.js';
import { shardCountOf, shardScheduleOf, type ShardFlags } from '../shard-args.js';
import { ExitCode } from '../exit-codes.js';
import { scenarioFromArgs, type ScenarioSource } from '../quick-scenario.js';
import { AtomicFile, createOutputDir, nodeOutputFs, OutputFileError, writeFileAtomic, type OutputFs } from '../files.js';
import { ProgressLine } from '../progress.js';
import { TOKENMETER_VERSION } from '../version.js';

/** The scenario (a file or quick-run flags, and `--set`s: ScenarioSource) and where and how to run it. */
export interface RunArgs extends ScenarioSource {
  out?: string;
  /** Run each cell this many times (`--repeat`). */
  repeat?: number;
  /** Where default output directories go. */
  resultsRoot?: string;
  argv?: string[];
  /** Send one request per model before any load and stop at a failure every request would meet (default true; `--no-preflight`). */
  preflight?: boolean;
  /** `--shard i/N`, `--start-at`, `--shard-gap` as given (the environment fills what is not: cli/shard-args.ts). */
  shard?: ShardFlags;
  /** Threads that send and read the load (`--workers`; wins over the scenario's `load.workers`). */
  workers?: number;
}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C; the CLI wires it to SIGINT. */
  interrupt?: AbortSignal;
  /** Where output files are written: node:fs unless a test injects a full disk. */
  fs?: OutputFs;
}

export async function runCommand(args: RunArgs, given: Io): Promise<number> {
  const readers = { shards: shardCountOf(args.shard ?? {}, given.env), ...(args.workers !== undefined ? { workers: args.workers } : {}) };
  const scenario = await scenarioFromArgs({ ...args, readers }, given.env);
  const io = guardedIo(scenario, given);
  const shard = shardScheduleOf(args.shard ?? {}, given.env, scenario);
  await checkTokenizerFiles(scenario);
  if (shard) io.stderr.write(`${shardIntro(shard, scenario)}\n`);
  const outcome = await withResultsFolder(scenario, args, io, (options) => scenarioEvents(scenario, { ...options, repeat: args.repeat ?? 1, ...(shard ? { shard } : {}) }), shard);
  io.stdout.write(renderSummaryTable(outcome.cells));
  // After the table: the messages point at it.
  for (const message of outcome.exitMessages) io.stderr.write(message);
  // A run whose files could not be written has no verdict to write either.
  if (outcome.writeFailed) return outcome.exitCode;
  // One shard sent 1/N of the load: its throughput and goodput are not the run's. `merge` judges the whole.
  if (shard && shard.share.count > 1 && scenario.thresholds.length > 0) {
    io.stderr.write(`thresholds: not judged on one shard of ${shard.share.count}; tokenmeter merge judges them on the merged run\n`);
    return outcome.exitCode;
  }
  const verdict = judgeThresholds(scenario, outcome);
  if (!verdict) return outcome.exitCode;
  io.stdout.write(verdict.lines);
  await writeCiOutputs(outcome.outDir, io, verdict);
  return outcome.exitCode === ExitCode.OK && verdict.failed ? ExitCode.THRESHOLDS_FAILED : outcome.exitCode;
}

/** What a shard says before it waits for its first cell: which part it sends, and when its cells start. */
function shardIntro(shard: ShardSchedule, scenario: Scenario): string {
  const part = `shard ${shardLabel(shard.share)}: every cell's share ${shard.share.index} of ${shard.share.count}`;
  const span = timedSpanMs(scenario, scenario.load.kind);
  if (shard.startAtUnixMs === undefined || span === undefined) return `${part}, starting now`;
  return `${part}; cell k starts at ${new Date(shard.startAtUnixMs).toISOString()} + k × ${(span + shard.gapMs) / 1000} s (its timed span ${span / 1000} s + gap ${shard.gapMs / 1000} s)`;
}

/**
 * The command's output with every secret of the run scrubbed (util/secrets.ts):
 * the scenario's key and headers and the environment's keys, tokens and
 * passwords, whole or in pieces, never reach stdout or stderr. Records are
 * scrubbed as they are made (ChatClient) and files as they are written.
 */
export interface GuardedIo extends Io {
  scrubber: SecretScrubber;
  secrets: string[];
}

export function guardedIo(scenario: Scenario, io: Io): GuardedIo {
  const secrets = secretsOf({ apiKey: scenario.target.apiKey, headers: scenario.target.headers, env: io.env });
  const scrubber = new SecretScrubber(secrets);
  if (scrubber.empty) return { ...io, scrubber, secrets };
  return { ...io, stdout: scrubbedStream(io.stdout, scrubber), stderr: scrubbedStream(io.stderr, scrubber), scrubber, secrets };
}

/** The stream, its text writes scrubbed; everything else (isTTY, columns) as it is. */
function scrubbedStream<S extends NodeJS.WritableStream>(stream: S, scrubber: SecretScrubber): S {
  return new Proxy(stream, {
    get(target, property, receiver) {
      if (property === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean).call(target, typeof chunk === 'string' ? scrubber.scrub(chunk) : chunk, ...rest);
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The verdict for CI: PREFIX.junit.xml and PREFIX.md in the results folder, and the
 * Markdown appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.
 */
export async function writeCiOutputs(outDir: string, io: Io, verdict: { markdown: string; junit: string }, prefix = 'thresholds'): Promise<void> {
  const names = [`${prefix}.junit.xml`, `${prefix}.md`];
  await writeFileAtomic(path.join(outDir, names[0]!), verdict.junit, io.fs);
  await writeFileAtomic(path.join(outDir, names[1]!), verdict.markdown, io.fs);
  const stepSummary = io.env.GITHUB_STEP_SUMMARY;
  if (stepSummary) await appendFile(stepSummary, `${verdict.markdown}\n`);
  io.stderr.write(`wrote ${outDir}/{${names.join(',')}}${stepSummary ? ` and appended to ${stepSummary}` : ''}\n`);
}

/**
 * Everything around the pipeline that `run`, `capacity` and `sweep` share: the
 * simulator, the results folder, requests.jsonl as it goes, the live view,
 * and every output file at the end, also after Ctrl-C.
 */
export async function withResultsFolder(
  scenario: Scenario,
  args: RunArgs,
  io: GuardedIo,
  pipeline: (options: PipelineOptions) => AsyncIterable<RunEvent>,
  shard?: ShardSchedule,
): Promise<RunResult & { outDir: string; writeFailed: boolean; exitCode: number; exitMessages: string[] }> {
  const fs = io.fs ?? nodeOutputFs;
  // Resolved here, so run.json says how many threads read the load, the default included.
  const workers = await workerCount(scenario, args.workers !== undefined ? { workers: args.workers } : {});
  let simulator: ThreadedSimulator | undefined;
  let baseURL = scenario.target.baseURL;
  if (baseURL === 'builtin') {
    // On its own thread, so its work never delays the client's timestamps.
    simulator = await startSimulatorThread(scenario.target.simulator);
    baseURL = simulator.baseURL;
  }
  let startedAt: Date;
  let outDir: string;
  try {
    // Before the results folder: a run that cannot measure anything leaves nothing behind.
    // The built-in simulator is tokenmeter's own: nothing to find out.
    if (args.preflight !== false && !simulator) {
      const checked = await preflight(scenario, baseURL, io.secrets, io.interrupt);
      if (checked.fatal) throw new Error(checked.fatal);
      for (const warning of checked.warnings) io.stderr.write(`warning: ${warning}\n`);
    }
    startedAt = new Date();
    const name = shard ? `${scenario.name}-shard-${shard.share.index}-of-${shard.share.count}` : scenario.name;
    outDir = await createOutputDir(args.out, name, startedAt, args.resultsRoot, fs);
  } catch (error) {
    await simulator?.close();
    throw error;
  }
  io.stderr.write(`tokenmeter ${TOKENMETER_VERSION}: ${scenario.name} → ${baseURL}; writing ${outDir}\n`);

  // A file that cannot be written (a full disk) stops the run: records that cannot be kept are not worth taking.
  let writeFailure: OutputFileError | undefined;
  const stop = new AbortController();
  const keep = async (write: () => Promise<void>): Promise<void> => {
    if (writeFailure) return;
    try {
      await write();
    } catch (error) {
      if (!(error instanceof OutputFileError)) throw error;
      writeFailure = error;
      stop.abort();
    }
  };
  const requestsFile = await AtomicFile.open(path.join(outDir, 'requests.jsonl'), fs);
  const progress = new ProgressLine(io.stderr);
  let result: RunResult;
  try {
    const interrupt = io.interrupt ? AbortSignal.any([io.interrupt, stop.signal]) : stop.signal;
    result = await collectRun(pipeline({ baseURL, secrets: io.secrets, interrupt, workers }), async (event) => {
      if (event.type === 'progress') progress.update(event.progress);
      // Records are scrubbed as the client makes them; what the server sent as is (usage) is scrubbed here.
      else if (event.type === 'record') await keep(() => requestsFile.write(io.scrubber.scrub(renderRequestLine(event.record))));
      else if (event.type === 'capacity-step') {
        const { verdict } = event;
        io.stderr.write(`  ${event.model} @ ${event.load}: ${verdict.met ? 'meets the SLO' : `fails (${verdict.reason})`}\n`);
      } else if (event.type === 'sweep-plan') {
        io.stderr.write(`  ${event.model}: synchronous ${event.synchronousRps.toFixed(2)} req/s, throughput ${event.throughputRps.toFixed(2)} req/s; rates ${event.rates.join(', ')} req/s\n`);
      }
    });
  } catch (error) {
    // tokenmeter itself failed: the records gathered are whole lines, and kept.
    await requestsFile.commit().catch(() => {});
    throw error;
  } finally {
    progress.clear();
    await simulator?.close();
  }
  await keep(() => requestsFile.commit());
  const endedAt = new Date();

  const context: RunContext = { startedAt, endedAt, baseURL, argv: args.argv ?? [], tokenmeterVersion: TOKENMETER_VERSION, workers, ...(shard ? { shard } : {}) };
  const files = writeFailure ? {} : await renderResultFiles(scenario, result, { ...context, incompleteReason: INTERRUPTED }, { runJson: false });
  // run.json last: a folder with a run.json is whole, or its run.json says why not.
  for (const [name, text] of Object.entries(files)) await keep(() => writeFileAtomic(path.join(outDir, name), io.scrubber.scrub(text), fs));
  const completed = result.completed && !writeFailure;
  const incompleteReason = writeFailure ? `${writeFailure.message}: the run stopped there, and the files after it were not written` : INTERRUPTED;
  const runJson = renderRunJson(runInfoOf(scenario, { ...result, completed }, { ...context, incompleteReason }));
  // After a failure the disk may have room again (the temporary files are gone); if not, no run.json claims anything.
  await writeFileAtomic(path.join(outDir, 'run.json'), io.scrubber.scrub(runJson), fs).catch((error: unknown) => {
    if (!(error instanceof OutputFileError)) throw error;
    writeFailure ??= error;
  });

  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  if (writeFailure) {
    const message = `error: ${writeFailure.message}; the run stopped there and ${path.join(outDir, 'run.json')}, where it could be written, says completed: false\n`;
    return { ...result, completed: false, outDir, writeFailed: true, exitCode: ExitCode.RUN_FAILED, exitMessages: [message] };
  }
  io.stderr.write(`wrote ${outDir}/{requests.jsonl,${[...Object.keys(files), 'run.json'].join(',')}}\n`);
  const exit = exitOf(result);
  return { ...result, outDir, writeFailed: false, exitCode: exit.code, exitMessages: exit.messages };
}

const INTERRUPTED = 'interrupted (Ctrl-C or SIGTERM): the cells after that point were not run';

/**
 * The run's exit code, and what to say about it once the summary is printed
 * (the messages point at it): interrupted, nothing measured (every request
 * was warm-up), nothing succeeded, every cell invalid (its numbers describe
 * the client, so the run measured nothing of the server), or some cells
 * invalid or all warm-up (warnings; the exit code stays).
 */
export function exitOf(result: Pick<RunResult, 'completed' | 'cells'>): { code: number; messages: string[] } {
  if (!result.completed) {
    return { code: ExitCode.INTERRUPTED, messages: ['interrupted: the results above are incomplete (run.json says completed: false)\n'] };
  }
  // With --repeat, the merged rows are judged, as thresholds judge them.
  const judged = judgedCells(result);
  // A cell with no measured request sent only warm-up: nothing failed, nothing was measured.
  const unmeasured = judged.filter((cell) => cell.requests === 0);
  const ok = result.cells.reduce((sum, cell) => sum + cell.ok, 0);
  if (ok === 0 && judged.length > 0 && unmeasured.length === judged.length) {
    return { code: ExitCode.RUN_FAILED, messages: ['error: no request was measured: every request the run sent was warm-up (load.warmup covers whole cells: lower it)\n'] };
  }
  const unmeasuredNote =
    unmeasured.length === 0
      ? []
      : [`warning: ${unmeasured.length} of ${judged.length} cells measured nothing, every request they sent was warm-up (load.warmup covers them: lower it): ${unmeasured.map(cellName).join(', ')}\n`];
  if (ok === 0) {
    return { code: ExitCode.RUN_FAILED, messages: ['error: no request succeeded; see the error classes above and requests.jsonl\n', ...unmeasuredNote] };
  }
  const invalid = judged.filter((cell) => cell.invalid !== undefined);
  if (invalid.length > 0 && invalid.length === judged.length) {
    return {
      code: ExitCode.ALL_INVALID,
      messages: [...unmeasuredNote, `error: every cell is invalid (see INVALID above): the client, not the server, limited what was measured, so no number describes the server\n`],
    };
  }
  if (invalid.length > 0) {
    return {
      code: ExitCode.OK,
      messages: [...unmeasuredNote, `warning: ${invalid.length} of ${judged.length} cells invalid (see INVALID above): their numbers describe the client, not the server\n`],
    };
  }
  return { code: ExitCode.OK, messages: unmeasuredNote };
}
