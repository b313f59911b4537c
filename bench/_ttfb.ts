import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { ChatClient } from '../src/client/chat-client.js';
import { startSimChild } from './streams.js';
const profile = { ttftMs: 50, tokensPerSecond: 50, tokensPerChunk: 1, outputTokens: 30, capacity: 1e6, usageExtraTokens: 0 };
const sim = await startSimChild({ seed: 1, defaults: profile, models: {} });
// Record when the response headers (and, from the simulator, the role chunk with them) arrived.
const headersAt = new Map<string, number>();
const original = http.request;
(http as any).request = function (...args: any[]) {
  const req = (original as any).apply(this, args) as http.ClientRequest;
  req.prependListener('response', () => headersAt.set(String(req.getHeader('x-tokenmeter-request-id')), performance.now()));
  return req;
};
const client = new ChatClient({ baseURL: sim.baseURL });
const C = Number(process.env.C ?? 1000);
const lags: number[] = [];
let seq = 0;
try {
  await Promise.all(Array.from({ length: C }, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i * 600) / C)); // spread the starts
    for (let k = 0; k < 3; k++) {
      const ex = await client.send({ id: `r${seq++}`, model: 'm', messages: [{ role: 'user', content: 'x' }], params: {}, ts: performance.now(), timeoutMs: 60000, idleTimeoutMs: 30000 });
      const h = headersAt.get(ex.id);
      if (k > 0 && h !== undefined && ex.tb !== undefined) lags.push(ex.tb - h);
    }
  }));
  lags.sort((a, b) => a - b);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!.toFixed(3);
  console.log(`C=${C} n=${lags.length} tb - headersArrived ms: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)}`);
} finally { client.close(); sim.kill(); }
