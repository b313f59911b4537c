/**
 * The burst phase for a profiler: tokenmeter's ChatClient in a closed loop
 * against the bench's simulator child (every stream written back-to-back), all
 * slots starting at once, for a few seconds. Run it under `--cpu-prof`:
 *
 *   node --cpu-prof --cpu-prof-dir=results/profiles --import tsx bench/profile-burst.ts [streams] [seconds] [raw|tokenmeter] [burst|paced]
 *   node --import tsx bench/profile-summary.ts results/profiles/<file>.cpuprofile
 *
 * The simulator is a separate process, so the profile holds the client only.
 * With `raw` as the third argument the raw node:http reader (raw-reader.ts)
 * runs instead, for the same numbers under the same conditions. `paced` runs
 * the bench's paced 30/s phase instead (slot starts spread over one stream).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatClient } from '../src/client/chat-client.js';
import { createRawReader } from './raw-reader.js';
import { BURST_PHASE, PACED_PHASES, simConfigFor, startSimChild } from './streams.js';

const concurrency = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 5);
const useRaw = process.argv[4] === 'raw';
const phase = process.argv[5] === 'paced' ? PACED_PHASES[0]! : BURST_PHASE;
/** Data events per stream besides the token chunks (as in streams.ts). */
const FRAMING_EVENTS = 4;

const sim = await startSimChild(simConfigFor([phase]));
const client = new ChatClient({ baseURL: sim.baseURL });
const raw = createRawReader({ baseURL: sim.baseURL, model: phase.model, expectedEvents: phase.profile.outputTokens + FRAMING_EVENTS });
raw.beginRun({ start: -Infinity, end: Infinity });
const delay = monitorEventLoopDelay({ resolution: 1 });
let sending = true;
let requests = 0;
let chunks = 0;
let failures = 0;
let sequence = 0;
const cpuStart = process.cpuUsage();
const startedAt = performance.now();
delay.enable();
const slots = Array.from({ length: concurrency }, async (_, slot) => {
  if (phase.rampMs > 0) await sleep((slot * phase.rampMs) / concurrency);
  while (sending && useRaw) {
    await raw.send();
    requests++;
  }
  while (sending) {
    const exchange = await client.send({
      id: `profile-${sequence++}`,
      model: phase.model,
      messages: [{ role: 'user', content: 'Count to a few hundred.' }],
      params: {},
      timeoutMs: 60_000,
      idleTimeoutMs: 30_000,
    });
    requests++;
    chunks += exchange.chunks.length;
    if (exchange.error) failures++;
  }
});
await sleep(seconds * 1000);
sending = false;
await Promise.all(slots);
delay.disable();
const wallMs = performance.now() - startedAt;
if (useRaw) {
  const counts = raw.endRun();
  // Every stream's events, counted as token chunks to compare with ChatClient's.
  chunks = counts.completed * phase.profile.outputTokens;
  failures = counts.failures;
}
const cpu = process.cpuUsage(cpuStart);
const cpuUs = cpu.user + cpu.system;
console.log(
  `${useRaw ? 'raw node:http' : 'tokenmeter ChatClient'}, ${phase.name}, ${concurrency} streams, ${(wallMs / 1000).toFixed(1)} s: ${requests} requests (${failures} failed), ${chunks} chunks, ` +
    `${(chunks / (wallMs / 1000)).toFixed(0)} chunks/s, CPU ${((cpuUs / 1000 / wallMs) * 100).toFixed(0)}%, ` +
    `${(cpuUs / chunks).toFixed(2)} µs/chunk, loop delay p99 ${(delay.percentile(99) / 1e6 - 1).toFixed(1)} ms, max ${(delay.max / 1e6 - 1).toFixed(1)} ms`,
);
client.close();
raw.close();
sim.kill();
