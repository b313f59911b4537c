/** `tokenmeter report RESULTS_DIR`: rebuilds report.html from a results folder's files. */
import path from 'node:path';
import { renderReportHtml } from '../../report/html.js';
import { provenanceOf, repeatCount } from '../../report/provenance.js';
import { ExitCode } from '../exit-codes.js';
import { writeFileAtomic } from '../files.js';
import { readResultsFolder } from '../results-folder.js';
import type { Io } from './run.js';

export async function reportCommand(resultsDir: string, io: Io): Promise<number> {
  const results = await readResultsFolder(resultsDir);
  const cells = results.cells.filter((cell) => cell.repeat === undefined);
  const html = await renderReportHtml({
    title: results.scenario.name,
    ...(results.scenario.description !== undefined ? { description: results.scenario.description } : {}),
    generatedAt: results.endedAt ?? new Date().toISOString(),
    cells,
    slo: results.scenario.slo,
    provenance: provenanceOf(results.provenance, repeatCount(cells)),
    timelineCells: results.cells,
    ...(results.capacity ? { capacity: results.capacity } : {}),
  });
  const file = path.join(resultsDir, 'report.html');
  await writeFileAtomic(file, html, io.fs);
  io.stderr.write(`wrote ${file}\n`);
  return ExitCode.OK;
}
