/**
 * The baseline: the least a Node client can do to read the same streams and
 * their tokens. `http.request` on a keep-alive agent, the same JSON body, and
 * per read a timestamp, a scan for the blank lines that end events, and a
 * `JSON.parse` of each event's data: any client that reads tokens pays that
 * (issue 10: the comparison is fair only with it). No SSE field handling, no
 * SDK, no records: whatever tokenmeter costs beyond this is its own overhead.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { StreamClient, Window } from './streams.js';

const BLANK_LINE = Buffer.from('\n\n');
/** `data: `, the prefix of every event the simulator sends. */
const DATA_PREFIX_BYTES = 6;

export interface RawReaderOptions {
  baseURL: string;
  model: string;
  /** Data events a complete response must have; a stream with another count is a failure. */
  expectedEvents: number;
}

export function createRawReader(options: RawReaderOptions): StreamClient {
  const url = new URL(`${options.baseURL}/chat/completions`);
  // The same agent settings as tokenmeter's transport (src/client/timed-fetch.ts).
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity, scheduling: 'lifo' });
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
      // The unfinished event of the previous read; the simulator's events rarely span reads.
      let carry: Buffer | undefined;
      // An event whose data is not JSON fails the stream.
      let badData = false;
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        inFlight.delete(request);
        const at = performance.now();
        if (at >= window.start && at <= window.end) {
          if (ok && !badData && events === options.expectedEvents) completed++;
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
        response.on('data', (read: Buffer) => {
          const at = performance.now();
          const bytes = carry === undefined ? read : Buffer.concat([carry, read]);
          let found = 0;
          let start = 0;
          for (let blank = bytes.indexOf(BLANK_LINE); blank !== -1; blank = bytes.indexOf(BLANK_LINE, start)) {
            const data = bytes.toString('utf8', start + DATA_PREFIX_BYTES, blank);
            if (data !== '[DONE]') {
              try {
                JSON.parse(data);
              } catch {
                badData = true;
              }
            }
            found++;
            start = blank + 2;
          }
          carry = start < bytes.length ? bytes.subarray(start) : undefined;
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
