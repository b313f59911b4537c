/**
 * The TTFT a minimal node:http client measures, against the simulator's truth:
 * the yardstick for issue 10's aim "at 512 concurrent streams, TTFT error p99
 * no worse than a minimal node:http reader measured beside it".
 *
 * What such a client does (vLLM's `bench serve` does the same with aiohttp):
 * stamp t0 just before it sends, read the stream, JSON.parse each event, and
 * stamp the read that brought the first event with output text. Closed loop,
 * one warm-up request per slot, as the pipeline runs; each request carries
 * `x-tokenmeter-request-id` so the simulator's truth pairs with it.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startSimulatorThread } from '../src/sim/threaded.js';
import type { SimModelProfile } from '../src/types.js';
import { ACCURACY_MODEL, spread, type Spread } from './accuracy.js';

const BLANK_LINE = '\n\n';
const DATA_PREFIX = 'data: ';

export interface RawTtftRun {
  concurrency: number;
  /** Measured requests (warm-up excluded) that ended ok and were matched to the simulator's truth. */
  requests: number;
  /** Client TTFT minus the simulator's (first token written − request received), ms, per request. */
  ttftDifferenceMs: Spread;
  failures: number;
}

interface Timed {
  id: string;
  warmup: boolean;
  ok: boolean;
  ttftMs?: number;
}

/** Whether one SSE event's data carries output text. */
function hasText(data: string): boolean {
  if (data === '[DONE]') return false;
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null; reasoning_content?: string | null } }[] };
  const delta = chunk.choices?.[0]?.delta;
  return Boolean(delta?.content || delta?.reasoning_content);
}

export async function measureRawTtft(concurrency: number, profile: SimModelProfile, requestsPerSlot: number): Promise<RawTtftRun> {
  const simulator = await startSimulatorThread({ seed: concurrency, defaults: profile, models: {} }, { keepTruth: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity, scheduling: 'lifo' });
  const url = new URL(`${simulator.baseURL}/chat/completions`);
  const body = JSON.stringify({
    model: ACCURACY_MODEL,
    messages: [{ role: 'user', content: 'Tell me a story' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const timed: Timed[] = [];

  const send = (id: string, warmup: boolean): Promise<void> =>
    new Promise((resolve) => {
      const record: Timed = { id, warmup, ok: false };
      timed.push(record);
      const t0 = performance.now();
      const request = http.request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          authorization: 'Bearer none',
          'x-tokenmeter-request-id': id,
        },
      });
      request.on('error', () => resolve());
      request.on('response', (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          return resolve();
        }
        let carry = '';
        response.setEncoding('utf8');
        response.on('data', (read: string) => {
          const at = performance.now();
          const text = carry + read;
          let start = 0;
          for (let blank = text.indexOf(BLANK_LINE); blank !== -1; blank = text.indexOf(BLANK_LINE, start)) {
            const data = text.slice(start + DATA_PREFIX.length, blank);
            if (hasText(data) && record.ttftMs === undefined) record.ttftMs = at - t0;
            start = blank + BLANK_LINE.length;
          }
          carry = text.slice(start);
        });
        response.on('end', () => {
          record.ok = record.ttftMs !== undefined;
          resolve();
        });
        response.on('error', () => resolve());
      });
      request.end(body);
    });

  let truth;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, slot) => {
        await send(`raw-${slot}-warmup`, true);
        for (let i = 0; i < requestsPerSlot; i++) await send(`raw-${slot}-${i}`, false);
      }),
    );
    truth = await simulator.truth();
  } finally {
    agent.destroy();
    await simulator.close();
  }

  const truthById = new Map(truth.map((t) => [t.requestId!, t]));
  const differences: number[] = [];
  let failures = 0;
  for (const record of timed) {
    if (record.warmup) continue;
    const t = truthById.get(record.id);
    if (!record.ok || !t || t.chunks.length === 0 || record.ttftMs === undefined) {
      failures++;
      continue;
    }
    differences.push(record.ttftMs - (t.chunks[0]!.at - t.receivedAt));
  }
  return { concurrency, requests: differences.length, ttftDifferenceMs: spread(differences), failures };
}
