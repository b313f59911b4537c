/**
 * The baseline: the least a Node client can do to read the same streams.
 * `http.request` on a keep-alive agent, the same JSON body, and per read only
 * a timestamp and a newline scan that counts events (a blank line ends one).
 * No SSE parsing, no JSON, no SDK: whatever tokenmeter costs beyond this is
 * its own overhead.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { StreamClient, Window } from './streams.js';

const LF = 10;

export interface RawReaderOptions {
  baseURL: string;
  model: string;
  /** Data events a complete response must have; a stream with another count is a failure. */
  expectedEvents: number;
}

export function createRawReader(options: RawReaderOptions): StreamClient {
  const url = new URL(`${options.baseURL}/chat/completions`);
  // The same agent settings as tokenmeter's transport (src/client/timed-fetch.ts).
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
  // The body the openai SDK sends for ChatClient (stream_options.include_usage is always set).
  const body = JSON.stringify({
    model: options.model,
    messages: [{ role: 'user', content: 'Count to a few hundred.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    accept: 'application/json',
    authorization: 'Bearer none',
  };
  let window: Window = { start: Infinity, end: Infinity };
  let eventsInWindow = 0;
  let completed = 0;
  let failures = 0;
  const inFlight = new Set<http.ClientRequest>();

  const send = (): Promise<void> =>
    new Promise((resolve) => {
      let events = 0;
      let lastByteWasLf = false;
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        inFlight.delete(request);
        const at = performance.now();
        if (at >= window.start && at <= window.end) {
          if (ok && events === options.expectedEvents) completed++;
          else failures++;
        }
        resolve();
      };
      const request = http.request(url, { method: 'POST', headers, agent });
      inFlight.add(request);
      request.on('error', () => settle(false));
      request.on('response', (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          return settle(false);
        }
        response.on('data', (bytes: Buffer) => {
          const at = performance.now();
          let found = 0;
          for (let lf = bytes.indexOf(LF); lf !== -1; lf = bytes.indexOf(LF, lf + 1)) {
            if (lf === 0 ? lastByteWasLf : bytes[lf - 1] === LF) found++;
          }
          lastByteWasLf = bytes[bytes.length - 1] === LF;
          events += found;
          if (at >= window.start && at <= window.end) eventsInWindow += found;
        });
        response.on('end', () => settle(true));
        response.on('error', () => settle(false));
        response.on('close', () => settle(response.complete));
      });
      request.end(body);
    });

  return {
    name: 'raw node:http',
    send,
    beginRun(runWindow) {
      window = runWindow;
      eventsInWindow = 0;
      completed = 0;
      failures = 0;
    },
    endRun: () => ({ eventsInWindow, completed, failures }),
    abortAll() {
      for (const request of inFlight) request.destroy(new Error('aborted by the bench after its window'));
    },
    close: () => agent.destroy(),
  };
}
