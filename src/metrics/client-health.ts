/**
 * The client's own health (METRICS.md, "The client's own health"): what the
 * monitor of a cell's load saw, turned into histogram samples, and the rule
 * that voids a cell whose numbers describe the client rather than the server.
 * Pure: the monitor itself (node:perf_hooks) is load/client-health.ts.
 */
import type { Sample } from './catalog.js';

/** What a client-health monitor saw over one cell's load. */
export interface ClientHealth {
  /** The reading thread's event-loop delay, ms: weighted samples, the timer's resolution subtracted, stalls filled in (`fillStalls`). */
  loopDelay: Sample[];
  /** Share of the time the event loop was busy (`performance.eventLoopUtilization`), 0–1. */
  utilization: number;
  /** The time utilization was measured over, ms (weights it when repeats merge). */
  elapsedMs: number;
}

/** What the delay histogram of `monitorEventLoopDelay` offers: its sample count and its percentiles, ns. */
export interface DelayHistogram {
  readonly count: number;
  percentile(percentile: number): number;
}

/**
 * The percentiles at which the monitor's histogram is read into samples: every 1 up to 99, every
 * 0.1 above, then 99.99 and the maximum. Node exposes no raw samples, and its own `percentiles`
 * list halves the distance to 100 at each step (50, 75, 87.5…), too coarse to rebuild p99 from.
 */
const READ_AT: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => i + 1),
  ...Array.from({ length: 9 }, (_, i) => 99.1 + i / 10),
  99.99,
  100,
];

/**
 * The monitor's histogram as weighted samples in ms, each value minus the timer's resolution
 * (a sample is one interval plus the delay) and floored at 0: the share of samples between two
 * read percentiles goes to the value at the upper one, so the rebuilt p50, p99 and max are the monitor's.
 */
export function delaySamples(histogram: DelayHistogram, resolutionMs: number): Sample[] {
  const samples: Sample[] = [];
  let below = 0;
  for (const percentile of READ_AT) {
    const upTo = Math.round((histogram.count * percentile) / 100);
    const count = upTo - below;
    if (count <= 0) continue;
    below = upTo;
    const value = Math.max(0, histogram.percentile(percentile) / 1e6 - resolutionMs);
    const last = samples.at(-1);
    if (last && last.value === value) last.count += count;
    else samples.push({ value, count });
  }
  return samples;
}

/**
 * Fills in the ticks a stall swallowed. The monitor's timer fires once after a stall of d ms and
 * records one sample, where every tick due during the stall was late too (by d − interval,
 * d − 2·interval…): without them a 300 ms block in a one-second cell is one sample in a thousand
 * and p99 does not see it. This is HdrHistogram's correction for coordinated omission
 * (Gil Tene, `recordValueWithExpectedInterval`), applied to weighted samples.
 */
export function fillStalls(samples: readonly Sample[], intervalMs: number): Sample[] {
  const filled = new Map<number, number>();
  const add = (value: number, count: number) => filled.set(value, (filled.get(value) ?? 0) + count);
  for (const { value, count } of samples) {
    add(value, count);
    for (let missed = value - intervalMs; missed >= intervalMs; missed -= intervalMs) add(missed, count);
  }
  return [...filled].map(([value, count]) => ({ value, count })).sort((a, b) => a.value - b.value);
}

/**
 * Event-loop utilization at or above which the client was the bottleneck: a loop busy 95% of the
 * time has no slack left to read sockets when bytes arrive, so its stamps trail the server's
 * events even where no single stall is long (many short callbacks back to back).
 */
export const MAX_CLIENT_UTILIZATION = 0.95;

/**
 * Utilization over less than this says nothing of the client's capacity: a
 * cell of a few requests in a process that just started is busy compiling
 * its own code (measured: 20 ms cells at 0.96–1.0). Its loop delay still counts.
 */
export const MIN_UTILIZATION_WINDOW_MS = 1000;

/** What the validity rule looks at in a cell, ms; a value the cell lacks is undefined. */
export interface ClientFacts {
  /** p99 of the client's event-loop delay. */
  loopDelayP99Ms?: number;
  /** The client's event-loop utilization, 0–1. */
  utilization?: number;
  /** How long the monitor watched, ms: utilization over a shorter time than MIN_UTILIZATION_WINDOW_MS is not judged. */
  monitoredMs?: number;
  /** p99 of the schedule lag (t0 − ts). */
  scheduleLagP99Ms?: number;
  /** Requests sent later than maxScheduleLagMs after they were due. */
  lateRequests: number;
  /** A shard's cell: how late it started after its scheduled start (run --shard). */
  startOffsetMs?: number;
}

/** The scenario's bounds on the facts, ms. */
export interface ClientBounds {
  /** `load.maxClientLag`: event-loop delay p99 beyond which the cell is invalid. */
  maxClientLagMs: number;
  /** `load.maxScheduleLag`: schedule lag p99 beyond which the cell is invalid. */
  maxScheduleLagMs: number;
  /** `load.maxClientUtilization`: event-loop utilization at or beyond which the cell is invalid (default MAX_CLIENT_UTILIZATION). */
  maxClientUtilization?: number;
  /** `load.maxStartOffset`: how late a shard may start a cell (unset: no bound). */
  maxStartOffsetMs?: number;
}

/** One reason a cell is invalid: the value that broke its bound, and why that voids the cell. */
export interface ClientCause {
  /** How an SLO verdict names the failed check: `client_loop_delay_p99_ms (invalid cell)`. */
  check: string;
  measured: number;
  bound: number;
  reason: string;
}

/**
 * Every reason the client, not the server, was the bottleneck: p99 schedule lag over its bound with
 * more than one request late (with under 100 requests p99 is the maximum, and one late send must
 * not void a cell); event-loop delay p99 over `maxClientLagMs`; utilization at or above
 * `maxClientUtilization` (MAX_CLIENT_UTILIZATION unless the scenario says); a shard's start of the
 * cell later than `maxStartOffsetMs` after its scheduled start (the client again: its load was not
 * the load the other shards sent alongside it).
 */
export function clientCauses(facts: ClientFacts, bounds: ClientBounds): ClientCause[] {
  const causes: ClientCause[] = [];
  const { scheduleLagP99Ms: lag, loopDelayP99Ms: delay, utilization } = facts;
  if (lag !== undefined && lag > bounds.maxScheduleLagMs && facts.lateRequests >= 2) {
    causes.push({
      check: 'schedule_lag_p99_ms (invalid cell)',
      measured: lag,
      bound: bounds.maxScheduleLagMs,
      reason:
        `p99 schedule lag ${lag.toFixed(1)} ms > ${bounds.maxScheduleLagMs} ms (${facts.lateRequests} requests late): the client could not send on time, ` +
        'so these numbers describe the client, not the server',
    });
  }
  if (delay !== undefined && delay > bounds.maxClientLagMs) {
    causes.push({
      check: 'client_loop_delay_p99_ms (invalid cell)',
      measured: delay,
      bound: bounds.maxClientLagMs,
      reason: `client lag: event-loop delay p99 ${delay.toFixed(1)} ms > ${bounds.maxClientLagMs} ms: the client, not the server, was the bottleneck`,
    });
  }
  const offset = facts.startOffsetMs;
  if (offset !== undefined && bounds.maxStartOffsetMs !== undefined && offset > bounds.maxStartOffsetMs) {
    causes.push({
      check: 'start_offset_ms (invalid cell)',
      measured: offset,
      bound: bounds.maxStartOffsetMs,
      reason:
        `started ${offset.toFixed(0)} ms after the cell's scheduled start > ${bounds.maxStartOffsetMs} ms (load.maxStartOffset): ` +
        "this shard's load did not overlap the other shards' (a late start, or the previous cell still draining: raise --shard-gap)",
    });
  }
  const maxUtilization = bounds.maxClientUtilization ?? MAX_CLIENT_UTILIZATION;
  // A bound of 1 is no bound: a loop always busy is still answering, if late (the delay rule judges that).
  const judged = facts.monitoredMs === undefined || facts.monitoredMs >= MIN_UTILIZATION_WINDOW_MS;
  if (utilization !== undefined && judged && maxUtilization < 1 && utilization >= maxUtilization) {
    causes.push({
      check: 'client_utilization (invalid cell)',
      measured: utilization,
      bound: maxUtilization,
      reason: `client lag: event-loop utilization ${utilization.toFixed(2)} >= ${maxUtilization}: the client, not the server, was the bottleneck`,
    });
  }
  return causes;
}

/** Every cause's reason, `; `-joined; undefined for none. */
export function describeCauses(causes: readonly ClientCause[]): string | undefined {
  return causes.length > 0 ? causes.map((cause) => cause.reason).join('; ') : undefined;
}

/** Why the cell is invalid (every cause), or undefined when its numbers describe the server. */
export const clientVerdict = (facts: ClientFacts, bounds: ClientBounds): string | undefined => describeCauses(clientCauses(facts, bounds));

/**
 * The health of a cell whose load several threads read (load workers), as one: every thread's
 * loop-delay samples together, and the busiest thread's utilization over its own time. Each thread
 * reads an equal share of the cell's streams and samples its loop every millisecond, so the union
 * is the delay any stamp of the cell risked, and its p99 is what the cell's latency percentiles,
 * taken over all the threads' requests, carry. Utilization is not averaged: one saturated thread
 * stamps its share late whatever the others do (among the threads watched long enough to judge).
 * Undefined for no thread.
 */
export function combineClientHealth(healths: readonly ClientHealth[]): ClientHealth | undefined {
  if (healths.length <= 1) return healths[0];
  const delays = new Map<number, number>();
  for (const health of healths) for (const { value, count } of health.loopDelay) delays.set(value, (delays.get(value) ?? 0) + count);
  // Among the threads watched long enough to judge (MIN_UTILIZATION_WINDOW_MS), else the one watched longest.
  const judged = healths.filter((health) => health.elapsedMs >= MIN_UTILIZATION_WINDOW_MS);
  const busiest =
    judged.length > 0 ? judged.reduce((a, b) => (b.utilization > a.utilization ? b : a)) : healths.reduce((a, b) => (b.elapsedMs > a.elapsedMs ? b : a));
  return {
    loopDelay: [...delays].map(([value, count]) => ({ value, count })).sort((a, b) => a.value - b.value),
    utilization: busiest.utilization,
    elapsedMs: busiest.elapsedMs,
  };
}
