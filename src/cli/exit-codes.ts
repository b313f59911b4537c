/** Process exit codes, named (as k6 does). */
export const ExitCode = {
  OK: 0,
  /** The run finished but no request succeeded, or tokenmeter itself failed. */
  RUN_FAILED: 1,
  /** Bad command line or scenario file: nothing was sent. */
  CONFIG_ERROR: 2,
  /** Every output was written, and a threshold failed (`run`) or a regression was found (`check`); k6 uses 99 too. */
  THRESHOLDS_FAILED: 99,
  /** Stopped by Ctrl-C; what was gathered is written and marked incomplete. */
  INTERRUPTED: 130,
} as const;

/** A problem with the command line or the files it names: printed without a stack, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
