/**
 * Sends one request to an API and records what arrived and when.
 *
 * The API's adapter (api-adapter.ts) builds the request as its SDK describes
 * it and sends it (apis/sdk-sender.ts), which hands back the raw response; the body is read here, each
 * read stamped with the client's clock on arrival, before any parsing. The
 * client owns what every API shares: the total and idle timeouts, the end
 * after the final event, the interrupt, and the classification of failures.
 */
import type { ApiName, ChatMessage, Exchange, RequestError } from '../types.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { SecretScrubber, secretsOf } from '../util/secrets.js';
import { adapterFor, type ApiAdapter, type HttpError } from './api-adapter.js';
import { llamaCppTimings } from './apis/common.js';
import { AbortReason, classOfStatus, describeNetworkError, messageOf, requestError } from './errors.js';
import { StreamBody, WholeBody, type ActivityWatch, type ResponseBody } from './response-body.js';
import { abortRequest, createTimedFetch, releaseAfterFinalEvent, type RequestProbe, type TimedFetch } from './timed-fetch.js';

export interface ChatClientOptions {
  /** The server's OpenAI-style base URL, usually ending in /v1. */
  baseURL: string;
  /** Which API to call (default chat). */
  api?: ApiName;
  /** Sent as the API's auth header; scrubbed from every record. */
  apiKey?: string;
  /** Extra headers on every request; the values of auth-like ones (and their credentials) are scrubbed from records too. */
  headers?: Record<string, string>;
  /** More values to scrub from every record: the run's environment secrets (util/secrets.ts). */
  secrets?: readonly string[];
  /** Open a new connection for every request (to measure cold starts). */
  newConnectionPerRequest?: boolean;
  /** Stamps every time of the Exchange and runs the timeouts (default: the system clock; tests pass a VirtualClock). */
  clock?: Clock;
}

export interface ChatRequest {
  /** Unique in the run; sent as the `x-tokenmeter-request-id` header. */
  id: string;
  model: string;
  messages: ChatMessage[];
  /** Body parameters passed through as written. */
  params: Record<string, unknown>;
  /** When the scheduler meant to send it (the client's clock, ms); undefined without a schedule (closed loop): ts = t0. */
  ts?: number;
  /** Total timeout, ms. */
  timeoutMs: number;
  /** Idle timeout: longest wait for the next byte, ms. */
  idleTimeoutMs: number;
  /** Aborts the request when the run is interrupted. */
  interrupt?: AbortSignal;
}

const INTERRUPTED = new AbortReason('interrupted', 'the run was interrupted');

/** One listener per interrupt signal, however many requests are in flight. */
class InterruptWatch {
  private readonly callbacks = new WeakMap<AbortSignal, Set<() => void>>();

  /** Calls `onInterrupt` when `signal` aborts (now, if it has); returns the undo. */
  watch(signal: AbortSignal, onInterrupt: () => void): () => void {
    if (signal.aborted) {
      onInterrupt();
      return () => undefined;
    }
    let callbacks = this.callbacks.get(signal);
    if (!callbacks) {
      const set = new Set<() => void>();
      this.callbacks.set(signal, (callbacks = set));
      signal.addEventListener('abort', () => [...set].forEach((callback) => callback()), { once: true });
    }
    callbacks.add(onInterrupt);
    return () => callbacks.delete(onInterrupt);
  }
}

/**
 * One request's deadlines on the client's clock: the total timeout, the idle
 * timeout and the run's interrupt; each ends the request through its probe.
 * The final event ends it too, and hands its connection back at once. The idle timeout costs one assignment per
 * read: its timer re-arms itself for the time left instead of being reset on
 * every read.
 */
class RequestTimers implements ActivityWatch {
  private lastActivity: number;
  private readonly totalTimer: TimerHandle;
  private idleTimer: TimerHandle;
  private readonly unwatch: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly request: ChatRequest,
    private readonly probe: RequestProbe,
    interrupts: InterruptWatch,
  ) {
    this.lastActivity = clock.now();
    this.totalTimer = clock.setTimeout(
      () => this.abort(new AbortReason('timeout', `total timeout: no complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    this.idleTimer = clock.setTimeout(this.checkIdle, request.idleTimeoutMs);
    this.unwatch = request.interrupt ? interrupts.watch(request.interrupt, () => this.abort(INTERRUPTED)) : undefined;
  }

  touch(at: number): void {
    this.lastActivity = at;
  }

  finalEvent(): void {
    this.clock.clearTimeout(this.idleTimer);
    releaseAfterFinalEvent(this.probe);
  }

  stop(): void {
    this.clock.clearTimeout(this.totalTimer);
    this.clock.clearTimeout(this.idleTimer);
    this.unwatch?.();
  }

  private abort(reason: AbortReason): void {
    abortRequest(this.probe, reason);
  }

  private readonly checkIdle = (): void => {
    const timeoutMs = this.request.idleTimeoutMs;
    const quietMs = this.clock.now() - this.lastActivity;
    if (quietMs >= timeoutMs) this.abort(new AbortReason('timeout', `idle timeout: no data for ${timeoutMs} ms`));
    else this.idleTimer = this.clock.setTimeout(this.checkIdle, timeoutMs - quietMs);
  };
}

export class ChatClient {
  private readonly adapter: ApiAdapter;
  private readonly transport: TimedFetch;
  private readonly secrets: SecretScrubber;
  private readonly interrupts = new InterruptWatch();
  private readonly clock: Clock;

  constructor(options: ChatClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.transport = createTimedFetch({ newConnectionPerRequest: options.newConnectionPerRequest ?? false, clock: this.clock });
    this.secrets = new SecretScrubber([...secretsOf({ apiKey: options.apiKey, headers: options.headers }), ...(options.secrets ?? [])]);
    this.adapter = adapterFor(options.api ?? 'chat', {
      baseURL: options.baseURL,
      // Servers without auth (vLLM, llama.cpp) ignore the header; the SDKs insist on a key.
      apiKey: options.apiKey ?? 'none',
      headers: options.headers ?? {},
      fetch: this.transport.fetch,
    });
  }

  async send(request: ChatRequest): Promise<Exchange> {
    const start = request.ts ?? this.clock.now();
    const exchange: Exchange = { id: request.id, ts: start, t0: start, tEnd: start, chunks: [] };
    const probe: RequestProbe = {};
    // Only an API that can answer whole honours stream: false; the others always stream.
    const whole = request.params.stream === false ? this.adapter.whole : undefined;
    if (whole) exchange.streamed = false;
    // Set inside the try, so the finally clears the timers whatever throws.
    let timers: RequestTimers | undefined;
    try {
      timers = new RequestTimers(this.clock, request, probe, this.interrupts);
      const body: ResponseBody = whole ? new WholeBody(exchange, timers, whole.read) : new StreamBody(exchange, timers, this.adapter.newReader());
      probe.sink = body;
      await (whole ?? this.adapter).send({ id: request.id, model: request.model, messages: request.messages, params: request.params, probe });
      exchange.status = 200;
      const failure = await body.outcome(probe);
      if (failure) exchange.error = requestError({ ...failure, status: 200 }, this.secrets);
    } catch (error) {
      probe.response?.destroy();
      exchange.tEnd = this.clock.now();
      const httpError = this.adapter.httpErrorOf(error);
      exchange.error = this.classify(error, httpError, probe);
      if (httpError) exchange.status = httpError.status;
      else if (exchange.error.status !== undefined) exchange.status = exchange.error.status;
    } finally {
      timers?.stop();
      exchange.t0 = probe.t0 ?? exchange.t0;
      // No schedule, no lateness: the request was due when it was sent (METRICS.md).
      if (request.ts === undefined) exchange.ts = exchange.t0;
      if (probe.connectMs !== undefined) exchange.connectMs = probe.connectMs;
      if (probe.resent) exchange.resent = true;
    }
    // The usage block's timings (SambaNova) win over llama.cpp's timings object; a server sends one or the other.
    const server = {
      ...(exchange.timings !== undefined ? llamaCppTimings(exchange.timings) : {}),
      ...(exchange.usage !== undefined ? this.adapter.serverTimingsOf(exchange.usage) : {}),
    };
    if (server.ttftMs !== undefined) exchange.serverTtftMs = server.ttftMs;
    if (server.e2eMs !== undefined) exchange.serverE2eMs = server.e2eMs;
    return exchange;
  }

  /** The class of a request that got no 2xx response (or none at all). */
  private classify(error: unknown, httpError: HttpError | undefined, probe: RequestProbe): RequestError {
    if (probe.abortReason instanceof AbortReason) {
      const status = probe.status;
      // The server answered with an error status, then its body stalled: the status is what it said.
      if (status !== undefined && status >= 400 && probe.abortReason.errorClass === 'timeout') {
        return requestError(
          { class: classOfStatus(status), message: `${status}, and its body did not finish: ${probe.abortReason.message}`, status, body: probe.errorBody },
          this.secrets,
        );
      }
      return requestError({ class: probe.abortReason.errorClass, message: probe.abortReason.message }, this.secrets);
    }
    if (httpError) {
      return requestError(
        { class: classOfStatus(httpError.status), message: httpError.message, status: httpError.status, body: probe.errorBody },
        this.secrets,
      );
    }
    if (probe.networkError) {
      return requestError({ class: 'connection', message: describeNetworkError(probe.networkError) }, this.secrets);
    }
    return requestError({ class: 'bad_response', message: messageOf(error) }, this.secrets);
  }

  close(): void {
    this.transport.close();
  }
}
