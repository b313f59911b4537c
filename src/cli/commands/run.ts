/**
 * `tokenmeter run SCENARIO`: the whole pipeline in one readable place.
 * scenario → (simulator) → load → metrics → report → files.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { renderJunit } from '../../check/junit.js';
import { renderThresholdLines, renderThresholdMarkdown, thresholdCases } from '../../check/render.js';
import { evaluateThresholds } from '../../check/thresholds.js';
import type { CellSummary } from '../../metrics/cell-summary.js';
import { runScenario, type RunOptions } from '../../load/run-scenario.js';
import { renderSummaryTable } from '../../report/console.js';
import { renderHistogramsCsv, renderSummaryCsv } from '../../report/csv.js';
import { renderReportHtml } from '../../report/html.js';
import { renderHistogramsJson, renderRequestLine, renderRunJson, renderSummaryJson } from '../../report/json.js';
import { loadScenario } from '../../scenario/load.js';
import { startSimulatorThread, type ThreadedSimulator } from '../../sim/threaded.js';
import type { CapacityOutcome, Scenario } from '../../types.js';
import { ExitCode } from '../exit-codes.js';
import { AtomicLineWriter, createOutputDir, writeFileAtomic } from '../files.js';
import { ProgressLine } from '../progress.js';
import { TOKENMETER_VERSION } from '../version.js';

export interface RunArgs {
  scenario: string;
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
  const scenario = await loadScenario(args.scenario, io.env);
  const outcome = await withResultsFolder(scenario, args, io, (options) => runScenario(scenario, { ...options, repeat: args.repeat ?? 1 }));
  io.stdout.write(renderSummaryTable(outcome.cells));
  if (scenario.thresholds.length === 0) return outcome.exitCode;

  // With --repeat, thresholds judge each cell's repeats merged, not one lucky (or unlucky) repeat.
  const results = evaluateThresholds(scenario.thresholds, outcome.cells.filter((cell) => cell.repeat === undefined));
  io.stdout.write(renderThresholdLines(results));
  await writeCiOutputs(outcome.outDir, io, {
    markdown: renderThresholdMarkdown(outcome.completed ? scenario.name : `${scenario.name} (interrupted: incomplete)`, results),
    junit: renderJunit([{ name: `thresholds: ${scenario.name}`, cases: thresholdCases(results) }]),
  });
  const failed = results.some((result) => !result.ok);
  return outcome.exitCode === ExitCode.OK && failed ? ExitCode.THRESHOLDS_FAILED : outcome.exitCode;
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

/** What a command's load produced, for the files. */
export interface LoadOutcome {
  cells: CellSummary[];
  completed: boolean;
  warnings: string[];
  capacity?: CapacityOutcome[];
}

/**
 * Everything around the load that `run` and `capacity` share: the simulator,
 * the results folder, requests.jsonl as it goes, the live view, and every
 * output file at the end, also after Ctrl-C.
 */
export async function withResultsFolder(
  scenario: Scenario,
  args: RunArgs,
  io: Io,
  load: (options: RunOptions) => Promise<LoadOutcome>,
): Promise<LoadOutcome & { outDir: string; exitCode: number }> {
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
  let result: LoadOutcome;
  try {
    result = await load({
      baseURL,
      ...(io.interrupt ? { interrupt: io.interrupt } : {}),
      onProgress: (p) => progress.update(p),
      onRecord: (record) => requestsFile.write(renderRequestLine(record)),
    });
  } finally {
    progress.clear();
    await requestsFile.commit();
    await simulator?.close();
  }
  const endedAt = new Date();

  const files: Record<string, string> = {
    'summary.csv': renderSummaryCsv(result.cells),
    'summary.json': renderSummaryJson(result.cells, result.capacity ? { capacity: result.capacity } : {}),
    'histograms.csv': renderHistogramsCsv(result.cells),
    'histograms.json': renderHistogramsJson(result.cells),
    'run.json': renderRunJson({
      scenario,
      tokenmeterVersion: TOKENMETER_VERSION,
      startedAt,
      endedAt,
      completed: result.completed,
      baseURL,
      warnings: result.warnings,
      argv: args.argv ?? [],
      nodeVersion: process.version,
      platform: `${process.platform}-${process.arch}`,
    }),
    'report.html': await renderReportHtml({
      title: scenario.name,
      ...(scenario.description !== undefined ? { description: scenario.description } : {}),
      generatedAt: endedAt.toISOString(),
      cells: result.cells.filter((cell) => cell.repeat === undefined),
      slo: scenario.slo,
      ...(result.capacity ? { capacity: result.capacity } : {}),
    }),
  };
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(path.join(outDir, name), text);

  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  io.stderr.write(`wrote ${outDir}/{requests.jsonl,${Object.keys(files).join(',')}}\n`);
  return { ...result, outDir, exitCode: exitCodeOf(result, io) };
}

function exitCodeOf(result: LoadOutcome, io: Io): number {
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
