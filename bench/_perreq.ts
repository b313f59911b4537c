import { performance } from 'node:perf_hooks';
import { ChatClient } from '../src/client/chat-client.js';
import { createRawReader } from './raw-reader.js';
import { startSimChild } from './streams.js';
const profile = { ttftMs: 0, tokensPerSecond: 1e6, tokensPerChunk: 1, outputTokens: 1, capacity: 1e6, usageExtraTokens: 0 };
const sim = await startSimChild({ seed: 1, defaults: profile, models: {} });
const client = new ChatClient({ baseURL: sim.baseURL });
const raw = createRawReader({ baseURL: sim.baseURL, model: 'm', expectedEvents: 5 });
const C = 100;
async function loop(name: string, send: () => Promise<unknown>) {
  let n = 0; let go = true;
  const slots = Array.from({ length: C }, async () => { while (go) { await send(); n++; } });
  await new Promise((r) => setTimeout(r, 500)); const n0 = n; const cpu = process.cpuUsage(); const t = performance.now(); const s0 = await sim.stats();
  await new Promise((r) => setTimeout(r, 2500)); const c = process.cpuUsage(cpu); const dt = performance.now() - t; const n1 = n; const s1 = await sim.stats(); go = false; await Promise.all(slots);
  console.log(name, 'req/s', ((n1 - n0) / dt * 1000).toFixed(0), 'client CPU us/req', ((c.user + c.system) / (n1 - n0)).toFixed(1), 'client', ((c.user + c.system) / 10 / dt).toFixed(0) + '%', 'server', ((s1.cpuUs - s0.cpuUs) / 10 / (s1.wallMs - s0.wallMs)).toFixed(0) + '%');
}
let seq = 0;
raw.beginRun({ start: Infinity, end: Infinity });
try {
  for (let i = 0; i < 1; i++) {
    
    await loop('tokenmeter', () => client.send({ id: `r${seq++}`, model: 'm', messages: [{ role: 'user', content: 'x' }], params: {}, ts: performance.now(), timeoutMs: 60000, idleTimeoutMs: 30000 }));
  }
} finally { client.close(); raw.close(); sim.kill(); }
