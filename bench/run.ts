/**
 * `npm run bench`: the hot-path micro-benchmarks, then the end-to-end stream
 * runs against the simulator in a child process. Prints a report and writes
 * the same markdown to bench/results.md. Numbers, not pass/fail: the aims
 * (≥ 0.8× the raw reader's events/s, event-loop delay p99 < 2 ms at 1,000
 * streams) are printed beside what was measured.
 */
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { runHotPath, type HotPathResult } from './hot-path.js';
import { DEFAULT_STREAMS_PLAN, E2E_MODEL, E2E_PROFILE, runStreams, startSimChild, type StreamRun } from './streams.js';

const AIM_RATIO = 0.8;
const AIM_ELD_P99_MS = 2;
const AIM_ELD_CONCURRENCY = 1000;
/** A process at or above this CPU share is taken as the one that limits throughput, %. */
const SATURATED_CPU_PERCENT = 85;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

function hotPathTable(results: readonly HotPathResult[]): string {
  const rows = results.map(
    (r) => `| ${r.name} | ${fmt(r.opsPerSec)} | ±${fmt(r.rmePercent, 1)}% | ${fmt(r.unitsPerSec)} ${r.unit}/s | ${fmt(1e6 / r.unitsPerSec, 3)} µs |`,
  );
  return ['| task | ops/s | rme | throughput | per unit |', '| --- | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

function bottleneck(run: StreamRun): string {
  const server = run.serverCpuPercent >= SATURATED_CPU_PERCENT;
  const client = run.clientCpuPercent >= SATURATED_CPU_PERCENT;
  if (server && client) return 'both';
  if (server) return 'server';
  if (client) return 'client';
  return 'neither saturated';
}

function runsTable(runs: readonly StreamRun[]): string {
  const rows = runs.map(
    (r) =>
      `| ${r.concurrency} | ${r.client} | ${fmt(r.eventsPerSec)} | ${fmt(r.cpuUsPerEvent, 2)} | ${fmt(r.eldP99Ms, 2)} | ${fmt(r.eldMaxMs, 1)} | ` +
      `${fmt(r.clientCpuPercent)}% | ${fmt(r.serverCpuPercent)}% | ${bottleneck(r)} | ${r.completed} | ${r.failures} |`,
  );
  return [
    '| streams | client | events/s | CPU µs/event | loop delay p99 ms | max ms | client CPU | server CPU | bottleneck | streams done | failed |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function summaryTable(runs: readonly StreamRun[]): string {
  const rows: string[] = [];
  for (const concurrency of [...new Set(runs.map((r) => r.concurrency))]) {
    const at = runs.filter((r) => r.concurrency === concurrency);
    const raw = at.filter((r) => r.client.startsWith('raw'));
    const tokenmeter = at.filter((r) => !r.client.startsWith('raw'));
    // Each tokenmeter run against the raw run just before it: the pairs share the machine's state.
    const ratios = tokenmeter.map((r, i) => r.eventsPerSec / raw[i]!.eventsPerSec);
    const ratio = median(ratios);
    const eld = median(tokenmeter.map((r) => r.eldP99Ms));
    const eldAim = concurrency === AIM_ELD_CONCURRENCY ? ` (aim < ${AIM_ELD_P99_MS}: ${eld < AIM_ELD_P99_MS ? 'met' : 'missed'})` : '';
    rows.push(
      `| ${concurrency} | ${fmt(median(raw.map((r) => r.eventsPerSec)))} | ${fmt(median(tokenmeter.map((r) => r.eventsPerSec)))} | ` +
        `${ratios.map((x) => fmt(x, 2)).join(', ')} | **${fmt(ratio, 2)}** (aim ≥ ${AIM_RATIO}: ${ratio >= AIM_RATIO ? 'met' : 'missed'}) | ` +
        `${fmt(median(raw.map((r) => r.cpuUsPerEvent)), 2)} / ${fmt(median(tokenmeter.map((r) => r.cpuUsPerEvent)), 2)} | ` +
        `${fmt(median(raw.map((r) => r.eldP99Ms)), 2)} / ${fmt(eld, 2)}${eldAim} | ` +
        `${fmt(median(at.map((r) => r.serverCpuPercent)))}% |`,
    );
  }
  return [
    '| streams | raw events/s | tokenmeter events/s | ratio per pair | median ratio | CPU µs/event raw / tokenmeter | loop delay p99 ms raw / tokenmeter | server CPU |',
    '| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.release()}, Node ${process.versions.node}`;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  console.log(`tokenmeter bench on ${machine()}\n`);

  console.log('Hot path (tinybench, ~1.25 s per task)…');
  const hotPath = await runHotPath();
  console.log(`${hotPathTable(hotPath)}\n`);

  const plan = DEFAULT_STREAMS_PLAN;
  console.log(
    `End to end: simulator in a child process (${E2E_PROFILE.outputTokens} tokens, one per chunk, written back-to-back), ` +
      `${plan.pairs} alternating runs per client, ${plan.windowMs} ms windows after ${plan.settleMs} ms…`,
  );
  const sim = await startSimChild({ seed: 1, defaults: E2E_PROFILE, models: { [E2E_MODEL]: E2E_PROFILE } });
  let runs: StreamRun[];
  try {
    runs = await runStreams(sim, plan, (run) =>
      console.log(
        `  ${String(run.concurrency).padStart(4)} streams  ${run.client.padEnd(22)} ${fmt(run.eventsPerSec).padStart(9)} events/s  ` +
          `${fmt(run.cpuUsPerEvent, 2)} µs/event  loop p99 ${fmt(run.eldP99Ms, 2)} ms  ` +
          `client ${fmt(run.clientCpuPercent)}% server ${fmt(run.serverCpuPercent)}% CPU  ${run.failures} failed`,
      ),
    );
  } finally {
    sim.kill();
  }

  const report = [
    '## Performance',
    '',
    `Measured with \`npm run bench\` on ${machine()}, ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '### Hot path (tinybench)',
    '',
    'SSE decoding is timed over the bytes of one simulator response (256 token chunks + role, finish, usage and `[DONE]` events), ' +
      'stamped with `performance.now()` per read as `ChatClient` does; once with one event per read (what node:http hands over for the simulator), ' +
      'once cut into 1400-byte reads. Attribution runs once per request after the load; histogram recording once per sample.',
    '',
    hotPathTable(hotPath),
    '',
    '### Concurrent streams',
    '',
    `The simulator runs in a child process and writes each stream back-to-back (${E2E_PROFILE.outputTokens} one-token chunks, TTFT 0). ` +
      `Closed loop at each concurrency; runs alternate raw reader and tokenmeter, ${plan.pairs} each; each run is measured over a ` +
      `${plan.windowMs / 1000} s window after ${plan.settleMs / 1000} s of settling. The raw reader is \`http.request\` on a keep-alive agent ` +
      'that only counts blank lines per read. "events" are SSE data events (the 256 chunks plus 4 framing events per stream). ' +
      'CPU µs/event is the client process CPU time (user + system) over the window divided by its events; loop delay is ' +
      '`monitorEventLoopDelay` (1 ms resolution, the interval subtracted). A process at ≥ 85% CPU is taken as the bottleneck.',
    '',
    summaryTable(runs),
    '',
    '<details><summary>Every run</summary>',
    '',
    runsTable(runs),
    '',
    '</details>',
    '',
  ].join('\n');

  console.log(`\n${report}`);
  const path = new URL('./results.md', import.meta.url).pathname;
  writeFileSync(`${path}.tmp`, report);
  renameSync(`${path}.tmp`, path);
  console.log(`Written to bench/results.md in ${fmt((Date.now() - startedAt) / 1000, 1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
