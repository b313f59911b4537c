/**
 * A fault-injection server for end-to-end tests (issue 13): an
 * OpenAI-compatible `POST /v1/chat/completions` that answers each request the
 * way its model name asks (`fault-reset`, `fault-429`, …, `ok` for a good
 * stream). It is written on node:http and node:net alone and shares no code
 * with tokenmeter, so a bug in the client cannot hide behind the same bug
 * here.
 *
 * It counts every request it saw, by model, with the request id the client
 * sent: a request it reset or let stall counts as much as one it answered.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the server answers a request: it writes (or breaks) the response itself. */
type Fault = (res: http.ServerResponse, socket: Socket, attempt: number) => void;

/** One request the server saw: its model and the id in `x-tokenmeter-request-id`. */
export interface Attempt {
  model: string;
  requestId: string;
}

export interface FaultServer {
  /** The base URL to give tokenmeter, ending in /v1. */
  baseURL: string;
  /** Every request the server read, in order of arrival. */
  attempts: Attempt[];
  close(): Promise<void>;
}

const chunk = (content: string): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
const usage = (completionTokens: number): string =>
  `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: completionTokens, total_tokens: 1 + completionTokens } })}\n\n`;
const DONE = 'data: [DONE]\n\n';
const GOOD_STREAM = chunk(' one') + chunk(' two') + chunk(' three') + usage(3) + DONE;

/** Words of the one huge event (5 bytes each): many reads of 64 KB, far past any line a real server sends. */
export const HUGE_EVENT_WORDS = 1_000_000;

const streamHead = (res: http.ServerResponse): http.ServerResponse => res.writeHead(200, { 'content-type': 'text/event-stream' });

/** Writes `text` and, once it is on the wire, `then`: so a break comes after what was written, not instead of it. */
const writeThen = (res: http.ServerResponse, text: string, then: () => void): void => {
  res.write(text, () => setImmediate(then));
};

const statusFault =
  (status: number, message: string): Fault =>
  (res) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, code: status } }));

/** A stream that sends a chunk every `everyMs` and never ends. */
const trickle =
  (everyMs: number): Fault =>
  (res) => {
    streamHead(res);
    const timer = setInterval(() => res.write(chunk(' more')), everyMs);
    res.on('close', () => clearInterval(timer));
  };

/** The faults, by model name. */
const FAULTS: Record<string, Fault> = {
  ok: (res) => streamHead(res).end(GOOD_STREAM),
  // Before any byte of a response: a TCP reset, and a plain close (FIN).
  'fault-reset-before-headers': (_res, socket) => socket.resetAndDestroy(),
  'fault-close-before-headers': (_res, socket) => socket.destroy(),
  // Mid-stream: headers and a chunk, then a plain close, or a reset once the chunk is on the wire.
  'fault-close-mid-stream': (res, socket) => writeThen(streamHead(res), chunk(' partial'), () => socket.destroy()),
  'fault-reset-mid-stream': (res, socket) => writeThen(streamHead(res), chunk(' partial'), () => socket.resetAndDestroy()),
  // A clean end of the response without [DONE]: after whole events, and inside one.
  'fault-truncated': (res) => streamHead(res).end(chunk(' one') + chunk(' two')),
  'fault-truncated-mid-event': (res) => streamHead(res).end(chunk(' one') + chunk(' two').slice(0, 20)),
  // Stalls: no headers ever; headers and a chunk, then nothing; a trickle that outlasts the total timeout.
  'fault-stall-before-headers': () => undefined,
  'fault-stall-mid-stream': (res) => streamHead(res).write(chunk(' one')),
  'fault-trickle': trickle(25),
  // An error status with a body that never ends.
  'fault-500-stalled-body': (res) => res.writeHead(500, { 'content-type': 'application/json' }).write('{"error": {"message": "ov'),
  'fault-429': statusFault(429, 'rate limit reached'),
  'fault-500': statusFault(500, 'internal error'),
  'fault-503': statusFault(503, 'overloaded'),
  'fault-401': statusFault(401, 'invalid api key'),
  'fault-403': statusFault(403, 'forbidden'),
  'fault-404': statusFault(404, 'no such model'),
  'fault-400': statusFault(400, 'max_tokens too large'),
  'fault-malformed-json': (res) => streamHead(res).end(chunk(' one') + 'data: {"choices": [{"delta": {"content": " tw\n\n' + chunk(' three') + DONE),
  // Error events: vLLM's `data: {"error": …}` (then a close), a named `event: error`, and one whose data is plain text.
  'fault-error-data': (res) => streamHead(res).end(chunk(' one') + `data: ${JSON.stringify({ error: { message: 'engine died', code: 500 } })}\n\n`),
  'fault-error-event': (res) =>
    streamHead(res).end(chunk(' one') + `event: error\ndata: ${JSON.stringify({ message: 'upstream overloaded' })}\n\n` + DONE),
  'fault-error-event-text': (res) => streamHead(res).end(chunk(' one') + 'event: error\ndata: upstream connection lost\n\n'),
  'fault-html': (res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>\n<html><head><title>Gateway</title></head>\n<body>Please log in</body></html>\n'),
  'fault-json-200': (res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'whole' } }] })),
  'fault-empty-choices': (res) =>
    streamHead(res).end(
      `data: ${JSON.stringify({ choices: [] })}\n\n` + `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })}\n\n` + usage(0) + DONE,
    ),
  // One data line of several MB: a good chunk, and an unparseable one.
  'fault-huge-event': (res) => streamHead(res).end(chunk(' word'.repeat(HUGE_EVENT_WORDS)) + usage(HUGE_EVENT_WORDS) + DONE),
  'fault-huge-malformed': (res) => streamHead(res).end(chunk(' one') + `data: {"choices": "${'x'.repeat(5 << 20)}\n\n` + DONE),
  // Answers its first request; stalls on every later one (a test interrupts the run meanwhile).
  'fault-stall-after-first': (res, socket, attempt) => (attempt === 1 ? FAULTS.ok!(res, socket, attempt) : undefined),
};

/** Every model name the server knows. */
export const FAULT_MODELS = Object.keys(FAULTS);

/**
 * Starts the server on 127.0.0.1, port 0. `onAttempt` sees each request as
 * it arrives, before the server answers it.
 */
export async function startFaultServer(onAttempt?: (attempt: Attempt, seen: number) => void): Promise<FaultServer> {
  const attempts: Attempt[] = [];
  const seenByModel = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      let model = '';
      try {
        model = String((JSON.parse(Buffer.concat(parts).toString('utf8')) as { model?: unknown }).model);
      } catch {
        // Not JSON: no fault has that name, so it gets the 400 below.
      }
      const attempt = { model, requestId: String(req.headers['x-tokenmeter-request-id']) };
      attempts.push(attempt);
      const seen = (seenByModel.get(model) ?? 0) + 1;
      seenByModel.set(model, seen);
      onAttempt?.(attempt, seen);
      const fault = FAULTS[model];
      if (fault) fault(res, req.socket, seen);
      else statusFault(400, `unknown fault ${model}`)(res, req.socket, seen);
    });
  });
  // Never close an idle kept-alive connection on a timer: a close the client races would be a
  // request the server never saw, resent (tokenmeter's rule), and the count would be off by one.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    attempts,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A local port with nothing listening on it: one the system just gave out and took back. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
