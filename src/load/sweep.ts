/**
 * `tokenmeter sweep`, after guidellm's sweep profile: a synchronous probe
 * (one request at a time), a throughput probe (a closed loop at a high
 * concurrency), then open-loop rates evenly spaced between the request rates
 * the two probes measured. Each model is planned from its own probes.
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import { DEFAULT_SWEEP_MAX_CONCURRENCY, type LoadLevel, type Scenario } from '../types.js';

/** The synchronous probe: one request in flight, the next sent when it ends. */
export const SYNCHRONOUS_LOAD: LoadLevel = { kind: 'concurrency', value: 1 };

/**
 * The throughput probe's requests in flight: `sweep.maxConcurrency`, else the scenario's highest
 * concurrency level when it is above 1 (the most the scenario's author meant to send), else 256.
 */
export function throughputConcurrency(scenario: Pick<Scenario, 'load' | 'sweep'>): number {
  if (scenario.sweep.maxConcurrency !== undefined) return scenario.sweep.maxConcurrency;
  const highest = scenario.load.kind === 'concurrency' ? Math.max(...scenario.load.levels) : 1;
  return highest > 1 ? highest : DEFAULT_SWEEP_MAX_CONCURRENCY;
}

/** The throughput probe: `maxConcurrency` requests in flight. */
export const throughputLoad = (maxConcurrency: number): LoadLevel => ({ kind: 'concurrency', value: maxConcurrency });

/**
 * Why a probe's measured rate cannot bound a sweep (no request ended
 * successfully inside its window, so its rate is 0); undefined when it can.
 * A sweep must not divide by it or send a rate of 0.
 */
export function probeProblem(probe: 'synchronous' | 'throughput', cell: Pick<CellSummary, 'requestsPerS' | 'ok' | 'requests' | 'load'>): string | undefined {
  if (Number.isFinite(cell.requestsPerS) && cell.requestsPerS > 0) return undefined;
  const at = `c=${cell.load.value}`;
  return `the ${probe} probe (${at}) measured no request rate (${cell.ok} of ${cell.requests} measured requests succeeded, none inside its window): its sweep stops here`;
}

/** The rates planned between the probes, and why there are none when there are none. */
export interface RatePlan {
  /** Requests/s, ascending, distinct, each strictly between the two probes' rates. */
  rates: number[];
  /** Why the plan is empty. */
  reason?: string;
}

/**
 * `count` rates evenly spaced strictly between the synchronous probe's rate
 * and the throughput probe's (both requests/s, positive: see probeProblem):
 * rate i is `sync + i·(throughput − sync)/(count + 1)`, so with the probes the
 * curve has count + 2 evenly spaced points. The probes' own rates are not run
 * again: they were measured. Each rate is rounded to two significant digits
 * of the step (a step of 1.07 req/s gives rates to 0.1 req/s), which keeps
 * labels short and rates distinct (each stays within 5% of a step of its
 * exact value, so strictly between the probes). A throughput probe no faster than the
 * synchronous one leaves no span: no rates, and the reason.
 */
export function sweepRates(synchronousRps: number, throughputRps: number, count: number): RatePlan {
  if (!(throughputRps > synchronousRps)) {
    return {
      rates: [],
      reason:
        `the throughput probe's request rate (${formatRps(throughputRps)} req/s) is not above the synchronous probe's (${formatRps(synchronousRps)} req/s): ` +
        'more requests in flight did not serve more, so there is no span of rates to sweep',
    };
  }
  const step = (throughputRps - synchronousRps) / (count + 1);
  // toFixed takes at most 100 decimals; 20 already separate rates a few parts in 10^18 apart.
  const decimals = Math.min(20, Math.max(0, 1 - Math.floor(Math.log10(step))));
  const rates = Array.from({ length: count }, (_, i) => Number((synchronousRps + (i + 1) * step).toFixed(decimals)));
  return { rates: [...new Set(rates)] };
}

/** A measured rate for a message: 4 significant digits. */
const formatRps = (rps: number): string => (Number.isFinite(rps) ? String(Number(rps.toPrecision(4))) : String(rps));
