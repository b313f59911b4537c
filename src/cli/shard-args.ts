/**
 * `run --shard i/N --start-at T --shard-gap D`, or the environment a
 * Kubernetes Indexed Job gives each pod (JOB_COMPLETION_INDEX, and
 * TOKENMETER_SHARDS / TOKENMETER_START_AT from the manifest): which shard this
 * process is and when its cells start, checked against the scenario.
 */
import { timedSpanMs } from '../load/cell-load.js';
import { DEFAULT_SHARD_GAP_MS, type ShardSchedule } from '../load/shard-schedule.js';
import type { Scenario } from '../types.js';
import { durationMs } from '../util/duration.js';
import { UsageError } from './exit-codes.js';

/** The flags as given (strings, unparsed); each falls back to its environment variable. */
export interface ShardFlags {
  shard?: string;
  startAt?: string;
  shardGap?: string;
}

/** ISO-8601 with a date, a time and a zone (`Z` or `±hh:mm`): a time every machine reads the same. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * The shard this run is, or undefined for a whole run (no flag, no TOKENMETER_SHARDS). Throws a
 * UsageError (exit 2) for a malformed value, a scenario whose cells are not time-bounded, or N > 1
 * without a start time.
 */
export function shardScheduleOf(flags: ShardFlags, env: NodeJS.ProcessEnv, scenario: Scenario): ShardSchedule | undefined {
  const share = shareOf(flags.shard, env);
  if (!share) {
    if (flags.startAt !== undefined || flags.shardGap !== undefined) throw new UsageError('--start-at and --shard-gap need --shard i/N (or TOKENMETER_SHARDS)');
    return undefined;
  }
  const spanMs = timedSpanMs(scenario, scenario.load.kind);
  if (spanMs === undefined) {
    throw new UsageError(
      `--shard ${share.index}/${share.count}: sharded runs need time-bounded cells, so that every shard starts each cell at the same time: set load.duration (e.g. --set load.duration=60s)`,
    );
  }
  const startAt = flags.startAt ?? env.TOKENMETER_START_AT;
  if (startAt === undefined && share.count > 1) {
    throw new UsageError(
      `--shard ${share.index}/${share.count}: shards must start each cell together: give every shard the same --start-at (ISO-8601 with a zone, e.g. 2030-01-01T12:00:00Z) or TOKENMETER_START_AT`,
    );
  }
  const gap = flags.shardGap ?? env.TOKENMETER_SHARD_GAP;
  let gapMs = DEFAULT_SHARD_GAP_MS;
  if (gap !== undefined) {
    try {
      gapMs = durationMs(gap);
    } catch (error) {
      throw new UsageError(`--shard-gap: ${(error as Error).message}`);
    }
  }
  return { share, gapMs, ...(startAt !== undefined ? { startAtUnixMs: instantOf(startAt) } : {}) };
}

/** How many shards the run is split over: N of `--shard i/N` (or TOKENMETER_SHARDS), 1 for a whole run. */
export const shardCountOf = (flags: ShardFlags, env: NodeJS.ProcessEnv): number => shareOf(flags.shard, env)?.count ?? 1;

/** `--shard i/N`, else JOB_COMPLETION_INDEX (i) and TOKENMETER_SHARDS (N); undefined when neither names a shard. */
function shareOf(flag: string | undefined, env: NodeJS.ProcessEnv): ShardSchedule['share'] | undefined {
  if (flag !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(flag.trim());
    if (!match) throw new UsageError(`--shard ${flag}: must be i/N, 0 ≤ i < N (e.g. --shard 0/4)`);
    return checkedShare(Number(match[1]), Number(match[2]), `--shard ${flag}`);
  }
  const { JOB_COMPLETION_INDEX: index, TOKENMETER_SHARDS: count } = env;
  if (count === undefined) return undefined;
  if (index === undefined) throw new UsageError(`TOKENMETER_SHARDS=${count} without JOB_COMPLETION_INDEX: which shard is this? (or pass --shard i/N)`);
  if (!/^\d+$/.test(index) || !/^\d+$/.test(count)) {
    throw new UsageError(`JOB_COMPLETION_INDEX=${index}, TOKENMETER_SHARDS=${count}: must be whole numbers, 0 ≤ index < shards`);
  }
  return checkedShare(Number(index), Number(count), `JOB_COMPLETION_INDEX=${index}, TOKENMETER_SHARDS=${count}`);
}

function checkedShare(index: number, count: number, given: string): ShardSchedule['share'] {
  if (count < 1 || index >= count) throw new UsageError(`${given}: the shard index must be 0 to N−1 and N at least 1`);
  return { index, count };
}

/** An ISO-8601 instant as Unix ms; a time without a zone is refused (machines in different zones would read it differently). */
function instantOf(text: string): number {
  const unixMs = Date.parse(text);
  if (!ISO_INSTANT.test(text) || Number.isNaN(unixMs)) {
    throw new UsageError(`--start-at ${text}: must be an ISO-8601 time with a zone, e.g. 2030-01-01T12:00:00Z or 2030-01-01T13:00:00+01:00`);
  }
  return unixMs;
}
