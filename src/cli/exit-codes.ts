/**
 * Process exit codes, named (as k6 does), as one table: `ExitCode`, the
 * top-level `--help` and the README all say what this table says. A new code
 * is one line here.
 */
import { textTableLines } from '../util/text-table.js';

/** Every exit code: its name in code, its number, and what it means in one line (printed by `tokenmeter --help`). */
export const EXIT_CODES = [
  { name: 'OK', code: 0, meaning: 'success' },
  { name: 'RUN_FAILED', code: 1, meaning: 'no request succeeded, or tokenmeter itself failed' },
  { name: 'CONFIG_ERROR', code: 2, meaning: 'bad command line, scenario or results folder' },
  { name: 'INCONCLUSIVE', code: 97, meaning: 'check could not tell: interval too wide, bad cell' },
  { name: 'ALL_INVALID', code: 98, meaning: 'every cell invalid: the client was the bottleneck' },
  { name: 'THRESHOLDS_FAILED', code: 99, meaning: 'threshold, regression or capacity SLO failed' },
  { name: 'INTERRUPTED', code: 130, meaning: 'stopped by Ctrl-C; what was gathered is written' },
] as const;

type ExitCodeEntry = (typeof EXIT_CODES)[number];

/** The codes by name: `ExitCode.THRESHOLDS_FAILED` is 99. */
export const ExitCode = Object.fromEntries(EXIT_CODES.map(({ name, code }) => [name, code])) as {
  readonly [Entry in ExitCodeEntry as Entry['name']]: Entry['code'];
};

/** The table as `--help` prints it: aligned text under a heading. */
export function exitCodeHelp(): string {
  const rows = EXIT_CODES.map(({ name, code, meaning }) => [String(code), name, meaning]);
  const lines = textTableLines([{ title: 'code', align: 'right' }, { title: 'name' }, { title: 'meaning' }], rows);
  return ['Exit codes:', ...lines.map((line) => `  ${line}`)].join('\n');
}

/** A problem with the command line or the files it names: printed without a stack, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
