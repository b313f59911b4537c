/**
 * `tokenmeter run SCENARIO`: the whole pipeline in one readable place.
 * scenario → (simulator) → load → metrics → report → files.
 */
import path from 'node:path';
import { runScenario } from '../../load/run-scenario.js';
import { renderSummaryTable } from '../../report/console.js';
import { renderHistogramsCsv, renderSummaryCsv } from '../../report/csv.js';
import { renderHistogramsJson, renderRequestLine, renderRunJson } from '../../report/json.js';
import { loadScenario } from '../../scenario/load.js';
import { startSimulatorThread, type ThreadedSimulator } from '../../sim/threaded.js';
import { ExitCode } from '../exit-codes.js';
import { AtomicLineWriter, createOutputDir, writeFileAtomic } from '../files.js';
import { ProgressLine } from '../progress.js';
import { TOKENMETER_VERSION } from '../version.js';

export interface RunArgs {
  scenario: string;
  out?: string;
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
  let result;
  try {
    result = await runScenario(scenario, {
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

  await writeFileAtomic(path.join(outDir, 'summary.csv'), renderSummaryCsv(result.cells));
  await writeFileAtomic(path.join(outDir, 'histograms.csv'), renderHistogramsCsv(result.cells));
  await writeFileAtomic(path.join(outDir, 'histograms.json'), renderHistogramsJson(result.cells));
  await writeFileAtomic(
    path.join(outDir, 'run.json'),
    renderRunJson({
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
  );

  io.stdout.write(renderSummaryTable(result.cells));
  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  io.stderr.write(`wrote ${outDir}/{requests.jsonl,summary.csv,histograms.csv,histograms.json,run.json}\n`);

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
