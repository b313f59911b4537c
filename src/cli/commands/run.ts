/**
 * `tokenmeter run SCENARIO`: the simulator if the scenario asks for it, the
 * pipeline (src/pipeline.ts), and the files. The CLI only writes what the
 * pipeline renders and shows what it reports.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { collectRun, judgeThresholds, renderResultFiles, scenarioEvents, type PipelineOptions, type RunEvent, type RunResult } from '../../pipeline.js';
import { renderSummaryTable } from '../../report/console.js';
import { renderRequestLine } from '../../report/json.js';
import { checkTokenizerFiles } from '../../load/workload.js';
import { startSimulatorThread, type ThreadedSimulator } from '../../sim/threaded.js';
import type { Scenario } from '../../types.js';
import { ExitCode } from '../exit-codes.js';
import { scenarioFromArgs, type ScenarioSource } from '../quick-scenario.js';
import { AtomicLineWriter, createOutputDir, writeFileAtomic } from '../files.js';
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
}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C; the CLI wires it to SIGINT. */
  interrupt?: AbortSignal;
}

export async function runCommand(args: RunArgs, io: Io): Promise<number> {
  const scenario = await scenarioFromArgs(args, io.env);
  await checkTokenizerFiles(scenario);
  const outcome = await withResultsFolder(scenario, args, io, (options) => scenarioEvents(scenario, { ...options, repeat: args.repeat ?? 1 }));
  io.stdout.write(renderSummaryTable(outcome.cells));
  const verdict = judgeThresholds(scenario, outcome);
  if (!verdict) return outcome.exitCode;
  io.stdout.write(verdict.lines);
  await writeCiOutputs(outcome.outDir, io, verdict);
  return outcome.exitCode === ExitCode.OK && verdict.failed ? ExitCode.THRESHOLDS_FAILED : outcome.exitCode;
}

/**
 * The verdict for CI: PREFIX.junit.xml and PREFIX.md in the results folder, and the
 * Markdown appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.
 */
export async function writeCiOutputs(outDir: string, io: Io, verdict: { markdown: string; junit: string }, prefix = 'thresholds'): Promise<void> {
  const names = [`${prefix}.junit.xml`, `${prefix}.md`];
  await writeFileAtomic(path.join(outDir, names[0]!), verdict.junit);
  await writeFileAtomic(path.join(outDir, names[1]!), verdict.markdown);
  const stepSummary = io.env.GITHUB_STEP_SUMMARY;
  if (stepSummary) await appendFile(stepSummary, `${verdict.markdown}\n`);
  io.stderr.write(`wrote ${outDir}/{${names.join(',')}}${stepSummary ? ` and appended to ${stepSummary}` : ''}\n`);
}

/**
 * Everything around the pipeline that `run` and `capacity` share: the
 * simulator, the results folder, requests.jsonl as it goes, the live view,
 * and every output file at the end, also after Ctrl-C.
 */
export async function withResultsFolder(
  scenario: Scenario,
  args: RunArgs,
  io: Io,
  pipeline: (options: PipelineOptions) => AsyncIterable<RunEvent>,
): Promise<RunResult & { outDir: string; exitCode: number }> {
  const startedAt = new Date();
  const outDir = await createOutputDir(args.out, scenario.name, startedAt, args.resultsRoot);

  let simulator: ThreadedSimulator | undefined;
  let baseURL = scenario.target.baseURL;
  if (baseURL === 'builtin') {
    // On its own thread, so its work never delays the client's timestamps.
    simulator = await startSimulatorThread(scenario.target.simulator);
    baseURL = simulator.baseURL;
  }
  io.stderr.write(`tokenmeter ${TOKENMETER_VERSION}: ${scenario.name} → ${baseURL}; writing ${outDir}\n`);

  const requestsFile = await AtomicLineWriter.open(path.join(outDir, 'requests.jsonl'));
  const progress = new ProgressLine(io.stderr);
  let result: RunResult;
  try {
    result = await collectRun(pipeline({ baseURL, ...(io.interrupt ? { interrupt: io.interrupt } : {}) }), async (event) => {
      if (event.type === 'progress') progress.update(event.progress);
      else if (event.type === 'record') await requestsFile.write(renderRequestLine(event.record));
      else if (event.type === 'capacity-step') {
        const { verdict } = event;
        io.stderr.write(`  ${event.model} @ ${event.load}: ${verdict.met ? 'meets the SLO' : `fails (${verdict.reason})`}\n`);
      }
    });
  } finally {
    progress.clear();
    await requestsFile.commit();
    await simulator?.close();
  }
  const endedAt = new Date();

  const files = await renderResultFiles(scenario, result, { startedAt, endedAt, baseURL, argv: args.argv ?? [], tokenmeterVersion: TOKENMETER_VERSION });
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(path.join(outDir, name), text);

  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  io.stderr.write(`wrote ${outDir}/{requests.jsonl,${Object.keys(files).join(',')}}\n`);
  return { ...result, outDir, exitCode: exitCodeOf(result, io) };
}

function exitCodeOf(result: RunResult, io: Io): number {
  if (!result.completed) {
    io.stderr.write('interrupted: the results above are incomplete (run.json says completed: false)\n');
    return ExitCode.INTERRUPTED;
  }
  const ok = result.cells.reduce((sum, cell) => sum + cell.ok, 0);
  if (ok === 0) {
    io.stderr.write('error: no request succeeded; see the error classes above and requests.jsonl\n');
    return ExitCode.RUN_FAILED;
  }
  return ExitCode.OK;
}
