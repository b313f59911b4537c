/**
 * Sends one streamed chat completion and records what arrived and when.
 *
 * The `openai` SDK builds and sends the request (`maxRetries: 0`, so a 429 is
 * measured, not hidden by a retry) and hands back the raw response; the body
 * is read here, each read stamped with performance.now() before any parsing.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import OpenAI, { APIError } from 'openai';
import type { ChatMessage, Exchange } from '../types.js';
import { ChatEventReader } from './chat-events.js';
import { AbortReason, classOfStatus, describeNetworkError, requestError } from './errors.js';
import { SseDecoder } from './sse.js';
import { createTimedFetch, PROBE_OPTION, type RequestProbe, type TimedFetch } from './timed-fetch.js';

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
    const probe: RequestProbe = {};
    const exchange: Exchange = { id: request.id, ts: request.ts, t0: request.ts, tEnd: request.ts, chunks: [] };
    const controller = new AbortController();
    const abort = (reason: AbortReason): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const totalTimer = setTimeout(
      () => abort(new AbortReason('timeout', `total timeout: no complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    const idleTimer = setTimeout(
      () => abort(new AbortReason('timeout', `idle timeout: no data for ${request.idleTimeoutMs} ms`)),
      request.idleTimeoutMs,
    );
    const onInterrupt = (): void => abort(new AbortReason('interrupted', 'the run was interrupted'));
    if (request.interrupt?.aborted) onInterrupt();
    request.interrupt?.addEventListener('abort', onInterrupt, { once: true });

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
      exchange.t0 = probe.t0 ?? exchange.t0;
      if (probe.connectMs !== undefined) exchange.connectMs = probe.connectMs;
      exchange.status = 200;
      idleTimer.refresh();
      await this.readBody(probe.response!, exchange, controller.signal, idleTimer);
    } catch (error) {
      exchange.t0 = probe.t0 ?? exchange.t0;
      if (probe.connectMs !== undefined) exchange.connectMs = probe.connectMs;
      exchange.tEnd = performance.now();
      exchange.error = this.classify(error, probe, controller.signal);
      if (error instanceof APIError && error.status !== undefined) exchange.status = error.status;
    } finally {
      clearTimeout(totalTimer);
      clearTimeout(idleTimer);
      request.interrupt?.removeEventListener('abort', onInterrupt);
    }
    return exchange;
  }

  /** Reads the SSE body: the hot path. Resolves when the response has closed. */
  private readBody(
    response: IncomingMessage,
    exchange: Exchange,
    signal: AbortSignal,
    idleTimer: NodeJS.Timeout,
  ): Promise<void> {
    const events = new ChatEventReader();
    const decoder = new SseDecoder(events.onEvent);
    return new Promise((resolve) => {
      let ended = false;
      let socketError: Error | undefined;
      const onAbort = (): void => {
        response.destroy(signal.reason as Error);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });

      response.on('data', (bytes: Buffer) => {
        const at = performance.now();
        exchange.tb ??= at;
        idleTimer.refresh();
        decoder.push(bytes, at);
      });
      response.on('end', () => {
        ended = true;
        decoder.end(performance.now());
      });
      response.on('error', (error) => {
        socketError ??= error;
      });
      response.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        const closedAt = performance.now();
        exchange.chunks = events.chunks;
        if (events.usage !== undefined) exchange.usage = events.usage;
        exchange.tEnd = events.doneAt ?? closedAt;
        if (signal.aborted) {
          const reason = signal.reason as AbortReason;
          exchange.error = requestError({ class: reason.errorClass, message: reason.message, status: 200 }, this.secrets);
        } else if (events.failure) {
          exchange.error = requestError({ class: events.failure.kind, message: events.failure.message, status: 200 }, this.secrets);
        } else if (socketError !== undefined || !ended) {
          const message = socketError ? describeNetworkError(socketError) : 'connection closed mid-stream';
          exchange.error = requestError({ class: 'connection', message, status: 200 }, this.secrets);
        } else if (events.doneAt === undefined) {
          exchange.error = requestError(
            { class: 'truncated', message: 'the stream ended without its final [DONE] event', status: 200 },
            this.secrets,
          );
        }
        resolve();
      });
    });
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
