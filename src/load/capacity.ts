/**
 * `tokenmeter capacity`: the highest load that meets the SLO. Coarse
 * doubling from `start` until a load fails (or `max` passes), then bisection
 * between the last pass and the first failure until they are within
 * `tolerance`. Concurrency is searched in whole requests.
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

/** Whether a cell met the SLO, as the search judges it: every bound held, nothing dropped, the cell valid. */
export function capacityVerdict(cell: CellSummary): LoadVerdict {
  const reasons: string[] = [];
  if (cell.invalid) reasons.push(`invalid: ${cell.invalid}`);
  if (cell.slo && !cell.slo.met) reasons.push(describeFailures(cell.slo));
  if (cell.dropped > 0) reasons.push(`${cell.dropped} arrivals dropped at maxInFlight`);
  if (cell.requests - cell.interrupted === 0) reasons.push('no request completed');
  return reasons.length === 0 ? { met: true } : { met: false, reason: reasons.join('; ') };
}

export async function searchCapacity(
  model: string,
  kind: LoadKind,
  spec: CapacitySpec,
  tryLoad: (load: number) => Promise<LoadVerdict | undefined>,
): Promise<CapacityOutcome> {
  const outcome: CapacityOutcome = { model, kind, steps: [], tolerance: spec.tolerance, reachedMax: false };
  const whole = (load: number): number => (kind === 'concurrency' ? Math.floor(load) : load);
  let failing: { load: number; reason: string } | undefined;

  /** Runs one load; undefined when the run was interrupted. */
  const attempt = async (load: number): Promise<boolean | undefined> => {
    const verdict = await tryLoad(load);
    if (verdict === undefined) return undefined;
    outcome.steps.push({ load, met: verdict.met, ...(verdict.reason ? { reason: verdict.reason } : {}) });
    if (verdict.met) outcome.best = load;
    else failing = { load, reason: verdict.reason ?? 'SLO not met' };
    return verdict.met;
  };

  // Coarse: double until a load fails or max has passed.
  for (let load = whole(spec.start); ; load = Math.min(whole(load * 2), spec.max)) {
    const met = await attempt(load);
    if (met === undefined) return finish(outcome, failing);
    if (!met) break;
    if (load >= spec.max) {
      outcome.reachedMax = true;
      return finish(outcome, failing);
    }
  }
  // Fine: bisect between the last pass and the first failure.
  while (outcome.best !== undefined && failing !== undefined && failing.load - outcome.best > spec.tolerance) {
    const middle = whole((outcome.best + failing.load) / 2);
    if (middle <= outcome.best || middle >= failing.load) break;
    if ((await attempt(middle)) === undefined) break;
  }
  return finish(outcome, failing);
}

function finish(outcome: CapacityOutcome, failing: { load: number; reason: string } | undefined): CapacityOutcome {
  if (failing) outcome.firstFailure = failing;
  return outcome;
}
