/**
 * Sends one streamed chat completion and records what arrived and when.
 *
 * The `openai` SDK builds and sends the request (`maxRetries: 0`, so a 429 is
 * measured, not hidden by a retry) and hands back the raw response; the body
 * is read here, each read stamped with performance.now() before any parsing.
 */
import { performance } from 'node:perf_hooks';
import OpenAI, { APIError } from 'openai';
import type { ChatMessage, Exchange, RequestError } from '../types.js';
import { ChatEventReader } from './chat-events.js';
import { AbortReason, classOfStatus, describeNetworkError, requestError } from './errors.js';
import { SseDecoder } from './sse.js';
import { createTimedFetch, PROBE_OPTION, type BodySink, type RequestProbe, type TimedFetch } from './timed-fetch.js';

export interface ChatClientOptions {
  baseURL: string;
  apiKey?: string;
  headers?: Record<string, string>;
  newConnectionPerRequest?: boolean;
}

export interface ChatRequest {
  id: string;
  model: string;
  messages: ChatMessage[];
  /** Body parameters passed through as written. */
  params: Record<string, unknown>;
  /** When the scheduler meant to send it (performance.now(), ms). */
  ts: number;
  /** Total timeout, ms. */
  timeoutMs: number;
  /** Idle timeout: longest wait for the next byte, ms. */
  idleTimeoutMs: number;
  /** Aborts the request when the run is interrupted. */
  interrupt?: AbortSignal;
}

/** Header that carries the request id, so a server log (or the simulator) can match it. */
export const REQUEST_ID_HEADER = 'x-tokenmeter-request-id';

/**
 * An idle timeout that costs one assignment per read: the timer re-arms
 * itself for the time left instead of being reset on every read.
 */
class IdleWatch {
  private lastActivity = performance.now();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(this.check, timeoutMs);
  }

  touch(at: number): void {
    this.lastActivity = at;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    const quietMs = performance.now() - this.lastActivity;
    if (quietMs >= this.timeoutMs) this.onIdle();
    else this.timer = setTimeout(this.check, this.timeoutMs - quietMs);
  };
}

interface BodyClosed {
  ended: boolean;
  error: Error | undefined;
}

/**
 * The hot path: each read of the body is stamped by the transport on arrival
 * and decoded at once into timed chunks on the Exchange.
 */
class StreamBody implements BodySink {
  readonly events = new ChatEventReader();
  private readonly decoder = new SseDecoder(this.events.onEvent);
  readonly closed: Promise<BodyClosed>;
  private resolveClosed!: (closed: BodyClosed) => void;

  constructor(
    private readonly exchange: Exchange,
    private readonly idle: IdleWatch,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  data(bytes: Buffer, at: number): void {
    this.exchange.tb ??= at;
    this.idle.touch(at);
    try {
      this.decoder.push(bytes, at);
    } catch (error) {
      // Never let a server's bytes throw out of a socket callback: it would end the whole run.
      this.events.failure ??= { kind: 'bad_response', message: `undecodable stream: ${(error as Error).message}` };
    }
  }

  close(at: number, ended: boolean, error: Error | undefined): void {
    try {
      if (ended) this.decoder.end(at);
    } catch (decodeError) {
      this.events.failure ??= { kind: 'bad_response', message: `undecodable stream: ${(decodeError as Error).message}` };
    }
    this.exchange.chunks = this.events.chunks;
    if (this.events.usage !== undefined) this.exchange.usage = this.events.usage;
    this.exchange.tEnd = this.events.doneAt ?? at;
    this.resolveClosed({ ended, error });
  }
}

export class ChatClient {
  private readonly sdk: OpenAI;
  private readonly transport: TimedFetch;
  private readonly secrets: string[];

  constructor(options: ChatClientOptions) {
    this.transport = createTimedFetch({ newConnectionPerRequest: options.newConnectionPerRequest ?? false });
    // Servers without auth (vLLM, llama.cpp) ignore the header; the SDK insists on a key.
    const apiKey = options.apiKey ?? 'none';
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.sdk = new OpenAI({
      baseURL: options.baseURL,
      apiKey,
      maxRetries: 0,
      // tokenmeter enforces its own total and idle timeouts; the SDK's must never fire first.
      timeout: 24 * 3600 * 1000,
      fetch: this.transport.fetch,
      defaultHeaders: options.headers ?? {},
    });
  }

  async send(request: ChatRequest): Promise<Exchange> {
    const exchange: Exchange = { id: request.id, ts: request.ts, t0: request.ts, tEnd: request.ts, chunks: [] };
    const controller = new AbortController();
    const abort = (reason: AbortReason): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const totalTimer = setTimeout(
      () => abort(new AbortReason('timeout', `total timeout: no complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    const idle = new IdleWatch(request.idleTimeoutMs, () =>
      abort(new AbortReason('timeout', `idle timeout: no data for ${request.idleTimeoutMs} ms`)),
    );
    const onInterrupt = (): void => abort(new AbortReason('interrupted', 'the run was interrupted'));
    if (request.interrupt?.aborted) onInterrupt();
    request.interrupt?.addEventListener('abort', onInterrupt, { once: true });

    const body = new StreamBody(exchange, idle);
    const probe: RequestProbe = { sink: body };
    const onAbort = (): void => {
      probe.response?.destroy(controller.signal.reason as Error);
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { stream_options: streamOptions, ...params } = request.params;
      await this.sdk.chat.completions
        .create(
          {
            ...params,
            model: request.model,
            messages: request.messages,
            stream: true,
            stream_options: { ...(streamOptions as object | undefined), include_usage: true },
          } as OpenAI.ChatCompletionCreateParamsStreaming,
          {
            signal: controller.signal,
            headers: { [REQUEST_ID_HEADER]: request.id },
            fetchOptions: { [PROBE_OPTION]: probe } as NonNullable<OpenAI.RequestOptions['fetchOptions']>,
          },
        )
        .asResponse();
      exchange.status = 200;
      const closed = await body.closed;
      const outcome = this.streamOutcome(closed, body.events, controller.signal);
      if (outcome) exchange.error = outcome;
    } catch (error) {
      probe.response?.destroy();
      exchange.tEnd = performance.now();
      exchange.error = this.classify(error, probe, controller.signal);
      if (error instanceof APIError && error.status !== undefined) exchange.status = error.status;
    } finally {
      clearTimeout(totalTimer);
      idle.stop();
      controller.signal.removeEventListener('abort', onAbort);
      request.interrupt?.removeEventListener('abort', onInterrupt);
      exchange.t0 = probe.t0 ?? exchange.t0;
      if (probe.connectMs !== undefined) exchange.connectMs = probe.connectMs;
      if (exchange.error === undefined) delete exchange.error;
    }
    return exchange;
  }

  /** How a 2xx stream ended: undefined when it ended with its final event. */
  private streamOutcome(closed: BodyClosed, events: ChatEventReader, signal: AbortSignal): RequestError | undefined {
    if (signal.aborted) {
      const reason = signal.reason as AbortReason;
      return requestError({ class: reason.errorClass, message: reason.message, status: 200 }, this.secrets);
    }
    if (events.failure) {
      return requestError({ class: events.failure.kind, message: events.failure.message, status: 200 }, this.secrets);
    }
    if (closed.error !== undefined || !closed.ended) {
      const message = closed.error ? describeNetworkError(closed.error) : 'connection closed mid-stream';
      return requestError({ class: 'connection', message, status: 200 }, this.secrets);
    }
    if (events.doneAt === undefined) {
      return requestError({ class: 'truncated', message: 'the stream ended without its final [DONE] event', status: 200 }, this.secrets);
    }
    return undefined;
  }

  private classify(error: unknown, probe: RequestProbe, signal: AbortSignal) {
    if (signal.aborted && signal.reason instanceof AbortReason) {
      return requestError({ class: signal.reason.errorClass, message: signal.reason.message }, this.secrets);
    }
    if (error instanceof APIError && error.status !== undefined) {
      return requestError(
        { class: classOfStatus(error.status), message: error.message, status: error.status, body: probe.errorBody },
        this.secrets,
      );
    }
    if (probe.networkError) {
      return requestError({ class: 'connection', message: describeNetworkError(probe.networkError) }, this.secrets);
    }
    const message = error instanceof Error ? error.message : String(error);
    return requestError({ class: 'bad_response', message }, this.secrets);
  }

  close(): void {
    this.transport.close();
  }
}
