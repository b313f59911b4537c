/**
 * One cell's load: the scenario's bounds and warm-up turned into a plan, and
 * the loop that sends it (closed loop for concurrency, open loop for a rate,
 * the session loop for multi-turn prompts).
 */
import type { LoadLevel, LoadSpec, Prompt, Scenario } from '../types.js';
import { deriveSeed, seededRandom } from '../util/random.js';
import { rampOffsetsMs } from './arrivals.js';
import { WHOLE, type CellPlan, type FinishedRequest, type SendRequest, type Share } from './cell-budget.js';
import { closedLoop, type LoopOptions } from './closed-loop.js';
import { openLoop } from './open-loop.js';
import { isSessionWorkload, sessionLoop } from './session-loop.js';

/** The seed stream of open-loop arrivals (deriveSeed's part), apart from synthetic prompts'. */
const ARRIVALS_STREAM = 0xa1;

/** Default open-loop warm-up when the scenario sets none: one second of arrivals. */
const OPEN_LOOP_WARMUP_MS = 1000;

export interface CellLoad {
  /** Every request of the cell as it finishes, warm-up and dropped ones included. */
  requests: AsyncGenerator<FinishedRequest>;
  /** Requests the cell will send, when known in advance (a closed loop bounded by a count and a warm-up count). */
  total?: number;
  /** Of them, the warm-up requests. */
  warmups?: number;
  /** How long a time-bounded cell runs: warm-up time plus measured duration, ms. */
  durationMs?: number;
}

/**
 * The cell's load, or `share`'s part of it (a worker's, a shard's). Open-loop
 * ids number the cell's arrivals, so they differ between shares already;
 * closed-loop ids number a share's own sends, and carry its index.
 */
export function cellLoad(
  scenario: Pick<Scenario, 'load' | 'seed'>,
  load: LoadLevel,
  prompts: readonly Prompt[],
  idPrefix: string,
  send: SendRequest,
  options: LoopOptions,
  share: Share = WHOLE,
): CellLoad {
  const { requests, durationMs, warmup, arrival, burstiness, maxInFlight } = scenario.load;
  const split = share.count > 1;
  const plan: CellPlan = { prompts, idPrefix: split && load.kind === 'concurrency' ? `${idPrefix}.${share.index}` : idPrefix, ...(split ? { share } : {}) };
  if (requests !== undefined) plan.requests = requests;
  if (durationMs !== undefined) plan.durationMs = durationMs;
  if (warmup !== undefined) plan.warmup = warmup;
  const warmupTimeMs = warmupTimeOf(scenario, load.kind);
  if (warmupTimeMs !== undefined) plan.warmupMs = warmupTimeMs;

  const sessions = isSessionWorkload(prompts);
  if (sessions && load.kind !== 'concurrency') throw new Error('multi-turn sessions run in a closed loop (load.concurrency)');
  const thinkTime = scenario.load.thinkTime;
  // Seeded by the scenario and the level, not the model: every model sees the same arrivals.
  const random = seededRandom(deriveSeed(scenario.seed, ARRIVALS_STREAM, Math.round(load.value * 1000)));
  const offsetsMs = givenOffsetsMs(scenario.load, load, random);
  const cell: CellLoad = sessions
    ? { requests: sessionLoop({ ...plan, concurrency: load.value, seed: scenario.seed, ...(thinkTime ? { thinkTime } : {}) }, send, options) }
    : load.kind === 'concurrency'
      ? { requests: closedLoop({ ...plan, concurrency: load.value }, send, options) }
      : {
          requests: openLoop(
            {
              ...plan,
              rate: load.value,
              arrival,
              ...(burstiness !== undefined ? { burstiness } : {}),
              maxInFlight,
              random,
              ...(offsetsMs ? { offsetsMs } : {}),
            },
            send,
            options,
          ),
        };
  return { ...cell, ...cellSize(scenario, load, { share, sessions }) };
}

/**
 * The load level of one of the scenario's levels, as cells, records and reports name it: a ramp's
 * or a trace's with what it is beside its rate.
 */
export function loadLevelOf(spec: Pick<LoadSpec, 'kind' | 'levels' | 'ramp' | 'trace'>, value: number): LoadLevel {
  const level: LoadLevel = { kind: spec.kind, value };
  if (spec.ramp) level.ramp = { ...spec.ramp };
  const speedup = spec.trace?.speedups[spec.levels.indexOf(value)];
  if (speedup !== undefined) level.trace = { speedup };
  return level;
}

/** A ramp's or a trace's arrival times, ms from the cell's start; undefined for arrivals at a steady rate. */
function givenOffsetsMs(spec: LoadSpec, load: LoadLevel, random: () => number): number[] | Iterable<number> | undefined {
  if (load.trace && spec.trace) {
    const { speedup } = load.trace;
    return spec.trace.offsetsMs.map((offset) => offset / speedup);
  }
  if (load.ramp) return rampOffsetsMs({ fromRate: load.value, ...load.ramp }, spec.arrival, random, spec.burstiness);
  return undefined;
}

/**
 * The cell's warm-up time, ms: the scenario's, or an open loop's default second when it sets no
 * warm-up (none for a ramp or a trace, whose schedule a default second would cut into: there the
 * open loop's one warm-up arrival, their first, is the default); undefined for a count (or none).
 */
function warmupTimeOf(scenario: Pick<Scenario, 'load'>, kind: LoadLevel['kind']): number | undefined {
  const { warmup, warmupMs, ramp, trace } = scenario.load;
  if (warmupMs !== undefined) return warmupMs;
  return warmup === undefined && kind === 'rate' && !ramp && !trace ? OPEN_LOOP_WARMUP_MS : undefined;
}

/**
 * How long a time-bounded cell sends, ms: its warm-up time (none for a count-based warm-up, whose
 * length is not known in advance) plus its measured duration; for a ramp or a trace, at most its
 * own length (a trace's at its slowest speed-up, so every cell of the run fits it); undefined when
 * the cell is bounded by a count only. Requests in flight at its end still finish after it.
 */
export function timedSpanMs(scenario: Pick<Scenario, 'load'>, kind: LoadLevel['kind']): number | undefined {
  const { durationMs, ramp, trace } = scenario.load;
  const bounded = durationMs === undefined ? undefined : durationMs + (warmupTimeOf(scenario, kind) ?? 0);
  // A trace's last arrival is sent at its offset: the span reaches just past it.
  const own = ramp ? ramp.overMs : trace ? trace.offsetsMs[trace.offsetsMs.length - 1]! / Math.min(...trace.speedups) : undefined;
  if (own === undefined) return bounded;
  return bounded === undefined ? own : Math.min(own, bounded);
}

/**
 * What is known in advance of the size of `share`'s part of the cell: its time span (the cell's), and its requests
 * (and warm-ups) when it is the whole cell (a share's counts are not the cell's) and runs no sessions (a session
 * cell's count of requests is known, its warm-up turns are not: whole sessions).
 */
export function cellSize(
  scenario: Pick<Scenario, 'load'>,
  load: LoadLevel,
  part: { share: Share; sessions: boolean },
): Pick<CellLoad, 'total' | 'warmups' | 'durationMs'> {
  const { requests, warmup, warmupMs } = scenario.load;
  const size: Pick<CellLoad, 'total' | 'warmups' | 'durationMs'> = {};
  const counted = part.share.count === 1 && !part.sessions;
  if (counted && load.kind === 'concurrency' && requests !== undefined && warmupMs === undefined) {
    size.warmups = Math.max(warmup ?? 0, load.value);
    size.total = size.warmups + requests;
  }
  const { trace } = scenario.load;
  if (counted && trace && requests === undefined && scenario.load.durationMs === undefined && warmupMs === undefined) {
    // A replay sends every line of its trace: known in advance, unless a bound may cut it short.
    size.total = trace.offsetsMs.length;
    // The open loop's first arrival is warm-up at least.
    size.warmups = Math.min(Math.max(warmup ?? 0, 1), size.total);
  }
  const span = timedSpanMs(scenario, load.kind);
  if (span !== undefined) size.durationMs = span;
  return size;
}
