import { performance } from 'node:perf_hooks';
import { ChatClient } from '../src/client/chat-client.js';
import { E2E_MODEL, E2E_PROFILE, startSimChild } from './streams.js';
const sim = await startSimChild({ seed: 1, defaults: E2E_PROFILE, models: { [E2E_MODEL]: E2E_PROFILE } });
const client = new ChatClient({ baseURL: sim.baseURL });
const C = Number(process.env.C ?? 100);
let chunks = 0; let seq = 0; let go = true;
const slot = async () => { while (go) { const ex = await client.send({ id: `b${seq++}`, model: E2E_MODEL, messages: [{ role: 'user', content: 'x' }], params: {}, ts: performance.now(), timeoutMs: 60000, idleTimeoutMs: 30000 }); chunks += ex.chunks.length; } };
try {
  const t = performance.now(); const cpu = process.cpuUsage();
  setTimeout(() => (go = false), 4000);
  await Promise.all(Array.from({ length: C }, slot));
  const c = process.cpuUsage(cpu); const dt = performance.now() - t;
  console.log('chunks/s', (chunks / dt * 1000).toFixed(0), 'us/chunk', ((c.user + c.system) / chunks).toFixed(2), 'requests', seq);
} finally { client.close(); sim.kill(); }
