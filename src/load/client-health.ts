/**
 * The client-health monitor (METRICS.md, "The client's own health"): while a
 * cell's load runs, how late and how busy the thread that reads the sockets
 * (this one) was. The samples become the `client_loop_delay` histogram and the
 * utilization a cell value (metrics/client-health.ts).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { delaySamples, fillStalls, type ClientHealth } from '../metrics/client-health.js';

/** The monitor's timer interval, ms. A sample is one interval plus the delay: reports subtract it (as bench/streams.ts does). */
export const LOOP_DELAY_RESOLUTION_MS = 1;

/** A running monitor; `stop` ends it and reports what it saw since it started. */
export interface ClientHealthMonitor {
  stop(): ClientHealth;
}

/** Starts a monitor: the pipeline calls it as a cell's load starts and stops it when the load ends. */
export type ClientHealthMonitorFactory = () => ClientHealthMonitor;

/**
 * The real monitor: `monitorEventLoopDelay` at 1 ms resolution and
 * `performance.eventLoopUtilization()`, both of this thread only. (Node 20 has no
 * per-thread CPU time, and `process.cpuUsage()` would count the built-in simulator's thread.)
 */
export const startClientHealthMonitor: ClientHealthMonitorFactory = () => {
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const startedAt = performance.eventLoopUtilization();
  delay.enable();
  return {
    stop() {
      delay.disable();
      const { utilization, idle, active } = performance.eventLoopUtilization(startedAt);
      const samples = delay.count > 0 ? fillStalls(delaySamples(delay, LOOP_DELAY_RESOLUTION_MS), LOOP_DELAY_RESOLUTION_MS) : [];
      return { loopDelay: samples, utilization, elapsedMs: idle + active };
    },
  };
};
