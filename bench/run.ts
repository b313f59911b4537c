/**
 * `npm run bench`: the hot-path micro-benchmarks, then the end-to-end stream
 * runs against the simulator in a child process. Prints a report and writes
 * the same markdown to results/bench-<UTC time>.md (git-ignored; bench/results.md is
 * the copy the README quotes, updated by hand). Numbers, not pass/fail: the aims
 * (≥ 0.8× the raw reader's events/s, event-loop delay p99 < 2 ms at 1,000
 * streams) are printed beside what was measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { median as medianOf } from '../src/metrics/cell-summary.js';
import { runHotPath, type HotPathResult } from './hot-path.js';
import { BURST_PHASE, PACED_PHASES, runStreams, simConfigFor, startSimChild, type StreamRun } from './streams.js';

const AIM_RATIO = 0.8;
const AIM_ELD_P99_MS = 2;
const AIM_ELD_CONCURRENCY = 1000;
/** A process at or above this CPU share is taken as the one that limits throughput, %. */
const SATURATED_CPU_PERCENT = 85;

const median = (values: readonly number[]): number => medianOf(values) ?? Number.NaN;
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
      `| ${r.phase} | ${r.concurrency} | ${r.client} | ${fmt(r.eventsPerSec)} | ${fmt(r.cpuUsPerEvent, 2)} | ${fmt(r.eldP99Ms, 2)} | ${fmt(r.eldMaxMs, 1)} | ` +
      `${fmt(r.clientCpuPercent)}% (${fmt(r.clientSysPercent)}%) | ${fmt(r.serverCpuPercent)}% | ${bottleneck(r)} | ${r.completed} | ${r.failures} |`,
  );
  return [
    '| phase | streams | client | events/s | CPU µs/event | loop delay p99 ms | max ms | client CPU (of it system) | server CPU | bottleneck | streams done | failed |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}

const isRaw = (run: StreamRun): boolean => run.client.startsWith('raw');

/** Burst phase: throughput of each client, and the ratios the aim is about. */
function burstTable(runs: readonly StreamRun[]): string {
  const rows: string[] = [];
  for (const concurrency of [...new Set(runs.map((r) => r.concurrency))]) {
    const at = runs.filter((r) => r.concurrency === concurrency);
    const raw = at.filter(isRaw);
    const tokenmeter = at.filter((r) => !isRaw(r));
    // Each tokenmeter run against the raw run just before it: the pairs share the machine's state.
    const ratios = tokenmeter.map((r, i) => r.eventsPerSec / raw[i]!.eventsPerSec);
    const ratio = median(ratios);
    // What one saturated core would give each client, whoever limited the measured rate.
    const cpuRatio = median(raw.map((r) => r.cpuUsPerEvent)) / median(tokenmeter.map((r) => r.cpuUsPerEvent));
    rows.push(
      `| ${concurrency} | ${fmt(median(raw.map((r) => r.eventsPerSec)))} | ${fmt(median(tokenmeter.map((r) => r.eventsPerSec)))} | ` +
        `${ratios.map((x) => fmt(x, 2)).join(', ')} | **${fmt(ratio, 2)}** (aim ≥ ${AIM_RATIO}: ${ratio >= AIM_RATIO ? 'met' : 'missed'}) | ` +
        `${fmt(median(raw.map((r) => r.cpuUsPerEvent)), 2)} / ${fmt(median(tokenmeter.map((r) => r.cpuUsPerEvent)), 2)} | ${fmt(cpuRatio, 2)} | ` +
        `${fmt(median(raw.map((r) => r.eldP99Ms)), 1)} / ${fmt(median(tokenmeter.map((r) => r.eldP99Ms)), 1)} | ` +
        `${raw.map(bottleneck).join(', ')} / ${tokenmeter.map(bottleneck).join(', ')} |`,
    );
  }
  return [
    '| streams | raw events/s | tokenmeter events/s | ratio per pair | median ratio | CPU µs/event raw / tokenmeter | CPU-bound ratio | loop delay p99 ms raw / tokenmeter | bottleneck raw / tokenmeter |',
    '| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

/** Paced phases: the same load for both clients, so only their cost and loop delay differ. */
function pacedTable(runs: readonly StreamRun[]): string {
  const rows = runs.map((r) => {
    const aim = !isRaw(r) && r.concurrency === AIM_ELD_CONCURRENCY ? ` (aim < ${AIM_ELD_P99_MS}: ${r.eldP99Ms < AIM_ELD_P99_MS ? 'met' : 'missed'})` : '';
    return (
      `| ${r.concurrency} × ${r.tokensPerSecond}/s | ${r.client} | ${fmt(r.eventsPerSec)} | ${fmt(r.cpuUsPerEvent, 2)} | ` +
      `**${fmt(r.eldP99Ms, 2)}**${aim} | ${fmt(r.eldMaxMs, 1)} | ${fmt(r.clientCpuPercent)}% | ${fmt(r.serverCpuPercent)}% |`
    );
  });
  return [
    '| streams × chunks/s | client | events/s | CPU µs/event | loop delay p99 ms | max ms | client CPU | server CPU |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** The commit measured, and whether src/ had uncommitted changes (read-only git calls). */
function sourceState(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `commit ${commit} with uncommitted changes in src/` : `commit ${commit}`;
  } catch {
    return 'unknown commit';
  }
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.release()}, Node ${process.versions.node}`;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const phases = [BURST_PHASE, ...PACED_PHASES];
  console.log(`tokenmeter bench on ${machine()}, ${sourceState()}\n`);

  console.log('Hot path (tinybench, ~1.25 s per task)…');
  const hotPath = await runHotPath();
  console.log(`${hotPathTable(hotPath)}\n`);

  console.log('End to end: the simulator in a child process; runs alternate raw and tokenmeter…');
  const sim = await startSimChild(simConfigFor(phases));
  let runs: StreamRun[];
  try {
    runs = await runStreams(sim, phases, (run) =>
      console.log(
        `  ${run.phase.padEnd(5)} ${String(run.concurrency).padStart(4)} streams  ${run.client.padEnd(22)} ${fmt(run.eventsPerSec).padStart(9)} events/s  ` +
          `${fmt(run.cpuUsPerEvent, 2)} µs/event  loop p99 ${fmt(run.eldP99Ms, 2)} ms  ` +
          `client ${fmt(run.clientCpuPercent)}% server ${fmt(run.serverCpuPercent)}% CPU  ${run.failures} failed`,
      ),
    );
  } finally {
    sim.kill();
  }
  const burst = runs.filter((r) => r.phase === 'burst');
  const paced = runs.filter((r) => r.phase !== 'burst');
  const b = BURST_PHASE;
  const p = PACED_PHASES[0]!;

  const report = [
    '## Performance',
    '',
    `Measured with \`npm run bench\` on ${machine()}; ${sourceState()}; ${new Date().toISOString().slice(0, 10)}. ` +
      'Client and simulator are separate processes, so each has one of the two cores.',
    '',
    '### Hot path (tinybench)',
    '',
    `SSE decoding is timed over the bytes of one simulator response (${b.profile.outputTokens} token chunks plus role, finish, usage and \`[DONE]\` events), ` +
      'stamped with `performance.now()` per read as `ChatClient` does; once with one event per read (what node:http hands over for the simulator), ' +
      'once cut into 1400-byte reads. Token attribution runs once per request after the load; histogram recording once per sample.',
    '',
    hotPathTable(hotPath),
    '',
    '### Throughput: streams written back-to-back',
    '',
    `The simulator writes each stream as fast as it can (${b.profile.outputTokens} one-token chunks, TTFT 0). Closed loop; ` +
      `runs alternate the raw reader and tokenmeter, ${b.pairs} each per level, each measured over ${b.windowMs / 1000} s after ${b.settleMs / 1000} s. ` +
      'The raw reader is `http.request` on a keep-alive agent that only counts blank lines per read. "events" are SSE data events ' +
      '(the chunks plus 4 framing events per stream). CPU µs/event: client process CPU time (user + system) over the window ÷ its events. ' +
      '"CPU-bound ratio" is raw µs/event ÷ tokenmeter µs/event: the ratio of events/s each would reach on one saturated core, ' +
      `whichever process limited the measured rate. A process at ≥ ${SATURATED_CPU_PERCENT}% CPU counts as the bottleneck ` +
      '(the simulator can exceed 100%: GC and I/O threads). Loop delay here is that of a saturated loop: the time to work through a backlog.',
    '',
    burstTable(burst),
    '',
    '### Event-loop delay at 1,000 paced streams',
    '',
    `${p.concurrencies.join(', ')} concurrent streams paced by the simulator at ${PACED_PHASES.map((phase) => phase.profile.tokensPerSecond).join(' and ')} ` +
      `one-token chunks/s each (${PACED_PHASES.map((phase) => phase.profile.outputTokens).join(' and ')} tokens, TTFT ${p.profile.ttftMs} ms), ` +
      `starts spread over one stream's duration; measured over ${p.windowMs / 1000} s once every slot is past its first start. ` +
      'Both clients get the same events, so only their cost and their loop delay differ. ' +
      'Loop delay is `monitorEventLoopDelay` at 1 ms resolution, p99 with the 1 ms interval subtracted.',
    '',
    pacedTable(paced),
    '',
    '<details><summary>Every run</summary>',
    '',
    runsTable(runs),
    '',
    '</details>',
    '',
  ].join('\n');

  console.log(`\n${report}`);
  const resultsDir = new URL('../results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  const path = `${resultsDir}bench-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.md`;
  writeFileSync(`${path}.tmp`, report);
  renameSync(`${path}.tmp`, path);
  console.log(`Written to ${path} in ${fmt((Date.now() - startedAt) / 1000, 1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
