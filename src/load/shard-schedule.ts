/**
 * When each cell of a sharded run starts (`run --shard i/N --start-at T`):
 * every shard, on its own machine, starts cell k at the same wall-clock time,
 * T + k × (the cell's timed span + a gap), so their loads overlap and add up
 * to the cell one process would have sent.
 */
import type { Share } from './cell-budget.js';

/**
 * Default pause between one cell's timed span and the next cell's start, ms. It must hold what
 * happens after the span: the requests still in flight finishing (one E2E latency; tens of seconds
 * for long outputs), token counting, a count-based warm-up of the next cell (whose length is not
 * known in advance: one E2E per slot). Too short a gap shows: the next cell starts late, and past
 * `load.maxStartOffset` that shard's part of it is invalid, with a reason that names the gap.
 */
export const DEFAULT_SHARD_GAP_MS = 30_000;

/** One shard's place in a sharded run. */
export interface ShardSchedule {
  /** Which part of every cell this process sends. */
  share: Share;
  /** When cell 0 starts, Unix time, ms; undefined: at once (a single shard, no schedule). */
  startAtUnixMs?: number;
  /** Pause between one cell's timed span and the next cell's start, ms. */
  gapMs: number;
}

/**
 * When cell `index` (0-based, in run order) starts, Unix time, ms: start-at plus every earlier
 * cell's span and gap; undefined without a start time. `spanMs` is every cell's timed span
 * (load/cell-load.ts `timedSpanMs`: the same for every cell of a scenario).
 */
export function cellStartUnixMs(schedule: ShardSchedule, index: number, spanMs: number): number | undefined {
  if (schedule.startAtUnixMs === undefined) return undefined;
  return schedule.startAtUnixMs + index * (spanMs + schedule.gapMs);
}

/** `i/N`, as `--shard` takes it and run.json's readers print it. */
export const shardLabel = (share: Share): string => `${share.index}/${share.count}`;
