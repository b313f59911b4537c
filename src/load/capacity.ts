/**
 * `tokenmeter capacity`: the highest load that meets the SLO. Coarse
 * doubling from `start` until a load fails (or `max` passes), or halving
 * when `start` already fails; then bisection between the highest pass and
 * the lowest failure until they are within `tolerance`. Concurrency is
 * searched in whole requests.
 *
 * The search assumes that a load above a failing one fails too (latency
 * rises with load); it reports every step it took, so a user can see when a
 * noisy cell made that untrue.
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import { describeFailures } from '../metrics/slo.js';
import type { CapacityOutcome, CapacitySpec, LoadKind } from '../types.js';

export interface LoadVerdict {
  met: boolean;
  /** Why it failed: the broken bounds, drops, or an invalid cell. */
  reason?: string;
}

/** Whether a cell met the SLO (every bound held, nothing dropped, the cell valid: its verdict says all three). */
export function capacityVerdict(cell: CellSummary): LoadVerdict {
  const reasons: string[] = [];
  if (cell.slo && !cell.slo.met) reasons.push(describeFailures(cell.slo));
  if (cell.requests - cell.interrupted === 0) reasons.push('no request completed');
  return reasons.length === 0 ? { met: true } : { met: false, reason: reasons.join('; ') };
}

/**
 * The search as a state machine: it yields the next load to try and is
 * resumed with that load's verdict (undefined: the run was interrupted), so
 * the caller runs each cell its own way (the pipeline streams its events).
 */
export function* capacitySearch(model: string, kind: LoadKind, spec: CapacitySpec): Generator<number, CapacityOutcome, LoadVerdict | undefined> {
  const outcome: CapacityOutcome = { model, kind, steps: [], tolerance: spec.tolerance, reachedMax: false };
  const whole = (load: number): number => (kind === 'concurrency' ? Math.floor(load) : load);
  // The lowest load worth trying: one request in flight, or a rate one tolerance wide.
  const floor = kind === 'concurrency' ? 1 : spec.tolerance;
  let failing: { load: number; reason: string } | undefined;

  /** Runs one load; undefined when the run was interrupted. */
  function* attempt(load: number): Generator<number, boolean | undefined, LoadVerdict | undefined> {
    const verdict = yield load;
    if (verdict === undefined) {
      outcome.interrupted = true;
      return undefined;
    }
    outcome.steps.push({ load, met: verdict.met, ...(verdict.reason ? { reason: verdict.reason } : {}) });
    if (verdict.met) outcome.best = Math.max(outcome.best ?? load, load);
    else if (failing === undefined || load < failing.load) failing = { load, reason: verdict.reason ?? 'SLO not met' };
    return verdict.met;
  }

  const max = Math.max(floor, whole(spec.max));
  // Coarse: double until a load fails or max has passed…
  for (let load = Math.min(max, Math.max(floor, whole(spec.start))); ; load = Math.min(whole(load * 2), max)) {
    const met = yield* attempt(load);
    if (met === undefined) return finish(outcome, failing);
    if (!met) break;
    if (load >= max) {
      outcome.reachedMax = true;
      return finish(outcome, failing);
    }
  }
  // …or, when even the start failed, halve until a load passes.
  while (outcome.best === undefined && failing !== undefined && failing.load > floor) {
    const lower = Math.max(floor, whole(failing.load / 2));
    if (lower >= failing.load) break;
    if ((yield* attempt(lower)) === undefined) return finish(outcome, failing);
  }
  // Fine: bisect between the highest pass and the lowest failure.
  while (outcome.best !== undefined && failing !== undefined && failing.load - outcome.best > spec.tolerance) {
    const middle = whole((outcome.best + failing.load) / 2);
    if (middle <= outcome.best || middle >= failing.load) break;
    if ((yield* attempt(middle)) === undefined) break;
  }
  return finish(outcome, failing);
}

function finish(outcome: CapacityOutcome, failing: { load: number; reason: string } | undefined): CapacityOutcome {
  if (failing) outcome.firstFailure = failing;
  return outcome;
}
