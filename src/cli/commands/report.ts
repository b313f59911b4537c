/** `tokenmeter report RESULTS_DIR`: rebuilds report.html from a results folder's files. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { renderReportHtml } from '../../report/html.js';
import { parseResultCells } from '../../report/json.js';
import type { Scenario } from '../../types.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { writeFileAtomic } from '../files.js';
import type { Io } from './run.js';

export async function reportCommand(resultsDir: string, io: Io): Promise<number> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(path.join(resultsDir, name), 'utf8');
    } catch (error) {
      throw new UsageError(`${path.join(resultsDir, name)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is this a tokenmeter results folder?`);
    }
  };
  const [summaryJson, histogramsJson, runJson] = await Promise.all([read('summary.json'), read('histograms.json'), read('run.json')]);
  let parsed;
  let scenario: Pick<Scenario, 'name' | 'description' | 'slo'>;
  try {
    parsed = parseResultCells(summaryJson, histogramsJson);
    scenario = (JSON.parse(runJson) as { scenario: Scenario }).scenario;
  } catch (error) {
    throw new UsageError(`${resultsDir}: the results files do not parse (${(error as Error).message})`);
  }
  const run = JSON.parse(runJson) as { ended_at?: string };
  const html = await renderReportHtml({
    title: scenario.name,
    ...(scenario.description !== undefined ? { description: scenario.description } : {}),
    generatedAt: run.ended_at ?? new Date().toISOString(),
    cells: parsed.cells,
    slo: scenario.slo ?? [],
    ...(parsed.capacity ? { capacity: parsed.capacity } : {}),
  });
  const file = path.join(resultsDir, 'report.html');
  await writeFileAtomic(file, html);
  io.stderr.write(`wrote ${file}\n`);
  return ExitCode.OK;
}
