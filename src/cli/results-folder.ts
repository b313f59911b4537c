/** Reading a results folder back (report, check, compare): its files, or a usage error naming the file. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RequestLine } from '../check/baseline.js';
import { parseResultCells } from '../report/json.js';
import type { Scenario } from '../types.js';
import { UsageError } from './exit-codes.js';

export async function readResultsFile(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is ${dir} a tokenmeter results folder?`);
  }
}

/** requests.jsonl, one parsed object per line. */
export async function readRequestLines(dir: string): Promise<RequestLine[]> {
  const text = await readResultsFile(dir, 'requests.jsonl');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as RequestLine;
      } catch {
        throw new UsageError(`${path.join(dir, 'requests.jsonl')}:${i + 1}: not valid JSON`);
      }
    });
}

/** The cells (summaries with histograms), the capacity search if any, and the run's scenario and end time. */
export async function readResults(dir: string) {
  // One after the other, so a folder missing several files always names the same one first.
  const summaryJson = await readResultsFile(dir, 'summary.json');
  const histogramsJson = await readResultsFile(dir, 'histograms.json');
  const runJson = await readResultsFile(dir, 'run.json');
  try {
    const run = JSON.parse(runJson) as { scenario: Scenario; ended_at?: string };
    return { ...parseResultCells(summaryJson, histogramsJson), scenario: run.scenario, endedAt: run.ended_at };
  } catch (error) {
    throw new UsageError(`${dir}: the results files do not parse (${(error as Error).message})`);
  }
}
