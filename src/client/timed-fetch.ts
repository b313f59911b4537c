/**
 * A `fetch` for every request tokenmeter sends, built on node:http(s) with
 * keep-alive agents.
 *
 * sdk-sender.ts calls it with the URL and headers its SDK describes and a JSON
 * body; it writes the request, stamps `t0` just before the write, notes
 * whether a new connection had to be opened and how long that took, and hands
 * the raw `IncomingMessage` to tokenmeter's own reader through a `RequestProbe`.
 * The caller gets a bodyless, headerless `Response` for a 2xx (it only needs
 * the status) and a buffered one with headers otherwise (the SDK builds its
 * APIError from the error body and headers).
 *
 * A request that went out on a reused keep-alive connection and failed before
 * any byte of a response came back is sent again, once, on a new connection
 * (METRICS.md, "End of a stream"): the server closed that connection while it
 * sat in the pool (llama.cpp does after every streamed response). No other
 * failure is ever retried.
 *
 * Why not undici's fetch: its web-stream body adds a promise per read and
 * several allocations, which under load shows up as late timestamps.
 */
import http from 'node:http';
import https from 'node:https';
import { systemClock, type Clock } from '../util/clock.js';

/** Error bodies are kept up to this size; more is not useful for a report. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Receives the body of a 2xx response from the moment its headers arrive,
 * each read stamped on arrival, before the fetch's promise has even
 * handed the response back: a listener attached later would stamp buffered
 * reads with the time of attaching (measured: +20-40 ms at 64 streams).
 */
export interface BodySink {
  data(bytes: Buffer, at: number): void;
  /** The body closed: fully read (`ended`), or cut short (`error`). */
  close(at: number, ended: boolean, error: Error | undefined): void;
}

/** What one request leaves behind for the reader. Passed to the fetch in its init, under PROBE_OPTION. */
export interface RequestProbe {
  /** Where the body of a 2xx response goes. Without it the body is discarded. */
  sink?: BodySink;
  /** The fetch's clock just before the request was written, ms. */
  t0?: number;
  /** Time spent opening a new connection, ms; unset on a reused connection. */
  connectMs?: number;
  /**
   * The request was sent again, once, on a new connection: its first send went
   * out on a reused keep-alive connection that failed before any byte of a
   * response came back (the server had closed it while it sat in the pool).
   * `t0` and `connectMs` are then the resend's.
   */
  resent?: boolean;
  /** The response, once its headers arrived. */
  response?: http.IncomingMessage;
  /** The HTTP status, once the headers arrived. */
  status?: number;
  /** The error body of a non-2xx response. */
  errorBody?: string;
  /** The socket-level error, if the request failed before a response. */
  networkError?: Error;
  /**
   * Why tokenmeter gave up on the request (a timeout, Ctrl-C). Set by `abort`;
   * a fetch that starts after it was set fails at once.
   */
  abortReason?: Error;
  /** Ends the request (or its response) now; installed by the fetch. */
  abort?: (reason: Error) => void;
}

/**
 * Aborts through the probe rather than an AbortSignal: a controller and its
 * listeners per request is measurable per-request cost.
 */
export function abortRequest(probe: RequestProbe, reason: Error): void {
  if (probe.abortReason) return;
  probe.abortReason = reason;
  probe.abort?.(reason);
}

/**
 * The final event of the response arrived: the response is whole and the
 * request over. Its connection goes back to the pool if the server ended the
 * response (its end is usually in the same read as the final event, parsed
 * just after it: hence the look once that read is done); otherwise it is
 * destroyed at once. A server that keeps the response open after its final
 * event must not hold a connection, nor the next request (METRICS.md, "End of
 * a stream").
 */
export function releaseAfterFinalEvent(probe: RequestProbe): void {
  const response = probe.response;
  if (response === undefined) return;
  setImmediate(() => {
    if (!response.complete) response.destroy();
  });
}

/** The key under which a probe travels in the fetch's init. */
export const PROBE_OPTION = 'tokenmeterProbe';

export interface TimedFetchOptions {
  /** Open a new connection for every request (to measure cold starts). */
  newConnectionPerRequest?: boolean;
  /** Stamps t0, the connect time and every read of a body (default: the system clock). */
  clock?: Clock;
}

export interface TimedFetch {
  fetch: typeof globalThis.fetch;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

interface Target {
  secure: boolean;
  options: http.RequestOptions;
}

export function createTimedFetch(options: TimedFetchOptions = {}): TimedFetch {
  const keepAlive = !options.newConnectionPerRequest;
  const clock = options.clock ?? systemClock;
  // Every idle connection stays pooled (Node keeps 256 by default): at 512 streams a closed loop's
  // waves end together, and half the next wave then paid for a new connection (measured).
  const pooling = { keepAlive, maxSockets: Infinity, maxFreeSockets: Infinity, scheduling: 'lifo' } as const;
  const agents = { 'http:': new http.Agent(pooling), 'https:': new https.Agent(pooling) };

  // A run sends to one or two URLs: parse each once, not per request.
  const targets = new Map<string, Target>();
  const targetOf = (href: string): Target => {
    let target = targets.get(href);
    if (!target) {
      const url = new URL(href);
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') throw new TypeError(`unsupported protocol ${url.protocol}`);
      target = {
        secure,
        options: { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search },
      };
      targets.set(href, target);
    }
    return target;
  };

  const timedFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let target: Target;
    try {
      target = targetOf(href);
    } catch (error) {
      return Promise.reject(error);
    }
    // The probe rides in the init (sdk-sender.ts puts it there), which RequestInit's type does not know.
    const probe = (init as { [PROBE_OPTION]?: RequestProbe })[PROBE_OPTION] ?? {};
    const transport = target.secure ? https : http;
    const agent = target.secure ? agents['https:'] : agents['http:'];
    const headers = headerRecord(init.headers);
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      return Promise.reject(new TypeError('tokenmeter sends JSON string bodies only'));
    }
    if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));

    if (probe.abortReason) return Promise.reject(probe.abortReason);
    return new Promise<Response>((resolve, reject) => {
      /** Sends the request; `fresh` (the resend) on a new connection of its own, never a pooled one. */
      const send = (fresh: boolean): void => {
        const request = transport.request({ ...target.options, method: init.method ?? 'GET', headers, agent: fresh ? false : agent });
        probe.abort = (reason) => (probe.response ?? request).destroy(reason);
        let bytesReadBefore = 0;

        request.once('socket', (socket) => {
          bytesReadBefore = socket.bytesRead;
          // A socket still connecting is new; a reused keep-alive socket is not.
          // Written only now that a socket is assigned, so t0 is the write itself: stamping it at
          // end() would count the time other requests' work holds the event loop (measured:
          // ~20 ms when 64 requests start at once) as server time. On a new connection the bytes
          // go out once it is open: t0 is then, and connectMs says how long opening took.
          if (socket.connecting) {
            const openedAt = clock.now();
            socket.once(target.secure ? 'secureConnect' : 'connect', () => {
              probe.t0 = clock.now();
              probe.connectMs = probe.t0 - openedAt;
            });
          } else {
            probe.t0 = clock.now();
            delete probe.connectMs;
          }
          request.end(body ?? undefined);
        });
        request.on('error', (error) => {
          if (!fresh && !probe.abortReason && request.reusedSocket && request.socket?.bytesRead === bytesReadBefore && isStaleConnectionError(error)) {
            probe.resent = true;
            send(true);
            return;
          }
          if (!probe.abortReason) probe.networkError ??= error;
          reject(error);
        });
        request.on('response', (response) => {
          const status = response.statusCode ?? 0;
          probe.status = status;
          if (status >= 200 && status < 300) {
            probe.response = response;
            const sink = probe.sink;
            let ended = false;
            let bodyError: Error | undefined;
            // Attached before anything else: the parser pushes body bytes that came with the
            // headers right after this handler returns, and they are emitted (and stamped) then.
            response.on('data', (bytes: Buffer) => sink?.data(bytes, clock.now()));
            response.on('end', () => (ended = true));
            response.on('error', (error) => (bodyError ??= error));
            response.on('close', () => sink?.close(clock.now(), ended, bodyError));
            // No headers: the sender needs only the status of a 2xx; tokenmeter reads the raw
            // ones on probe.response.
            resolve(new Response(null, { status }));
            return;
          }
          readErrorBody(response).then((text) => {
            probe.errorBody = text;
            resolve(new Response(text, { status, headers: toHeaders(response.headers) }));
          }, reject);
        });
      };
      send(false);
    });
  };

  return {
    fetch: timedFetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/**
 * How a keep-alive connection that the server closed while it sat in the pool
 * fails the next request written on it: reset (ECONNRESET, which Node also
 * gives a "socket hang up"), or a broken pipe.
 */
function isStaleConnectionError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * The request's headers as node:http takes them. sdk-sender.ts passes a plain
 * object, copied as it is (no undici `Headers` per request: measurable at
 * thousands of requests a second); anything else goes through `Headers`,
 * which also checks names and values.
 */
function headerRecord(init: HeadersInit | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (init !== undefined && !(init instanceof Headers) && !Array.isArray(init)) {
    for (const name in init) headers[name.toLowerCase()] = init[name]!;
    return headers;
  }
  new Headers(init).forEach((value, name) => (headers[name] = value));
  return headers;
}

function toHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

function readErrorBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    response.on('data', (part: Buffer) => {
      if (size < MAX_ERROR_BODY_BYTES) parts.push(part);
      size += part.length;
    });
    response.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    response.on('error', reject);
  });
}
