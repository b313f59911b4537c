/**
 * Sends one streamed chat completion and records what arrived and when.
 *
 * The `openai` SDK builds and sends the request (`maxRetries: 0`, so a 429 is
 * measured, not hidden by a retry) and hands back the raw response; the body
 * is read here, each read stamped with the client's clock before any parsing.
 */
import Anthropic, { APIError as AnthropicAPIError } from '@anthropic-ai/sdk';
import OpenAI, { APIError } from 'openai';
import type { ApiName, ChatMessage, Exchange, RequestError, Usage } from '../types.js';
import { ChatEventReader, type StreamEvents } from './chat-events.js';
import { MessagesEventReader } from './messages-events.js';
import { ResponsesEventReader } from './responses-events.js';
import { AbortReason, classOfStatus, describeNetworkError, requestError } from './errors.js';
import { SseDecoder } from './sse.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { abortRequest, createTimedFetch, PROBE_OPTION, type BodySink, type RequestProbe, type TimedFetch } from './timed-fetch.js';

export interface ChatClientOptions {
  baseURL: string;
  /** Which API to call (default chat). */
  api?: ApiName;
  apiKey?: string;
  headers?: Record<string, string>;
  newConnectionPerRequest?: boolean;
  /** Stamps every time of the Exchange and runs the timeouts (default: the system clock; tests pass a VirtualClock). */
  clock?: Clock;
}

export interface ChatRequest {
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

/** Header that carries the request id, so a server log (or the simulator) can match it. */
export const REQUEST_ID_HEADER = 'x-tokenmeter-request-id';

/**
 * An idle timeout that costs one assignment per read: the timer re-arms
 * itself for the time left instead of being reset on every read.
 */
class IdleWatch {
  private lastActivity: number;
  private timer: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.lastActivity = clock.now();
    this.timer = clock.setTimeout(this.check, timeoutMs);
  }

  touch(at: number): void {
    this.lastActivity = at;
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    const quietMs = this.clock.now() - this.lastActivity;
    if (quietMs >= this.timeoutMs) this.onIdle();
    else this.timer = this.clock.setTimeout(this.check, this.timeoutMs - quietMs);
  };
}

/** Bytes of the body kept to show what a server sent instead of an event stream. */
const HEAD_BYTES = 300;

/**
 * After [DONE] the request is complete; a server that then keeps the response
 * open gets this long to close it before tokenmeter does.
 */
const AFTER_DONE_MS = 1000;

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

interface BodyClosed {
  ended: boolean;
  error: Error | undefined;
}

/**
 * The hot path: each read of the body is stamped by the transport on arrival
 * and decoded at once into timed chunks on the Exchange.
 */
class StreamBody implements BodySink {
  /** The start of the body, to show when it is not an event stream. */
  head = '';
  /** Called once, when [DONE] has arrived. */
  onDone: (() => void) | undefined;
  private readonly decoder: SseDecoder;
  readonly closed: Promise<BodyClosed>;
  private resolveClosed!: (closed: BodyClosed) => void;

  constructor(
    private readonly exchange: Exchange,
    private readonly idle: IdleWatch,
    readonly events: StreamEvents,
  ) {
    this.decoder = new SseDecoder(this.events.onEvent);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  data(bytes: Buffer, at: number): void {
    if (this.exchange.tb === undefined) {
      this.exchange.tb = at;
      this.head = bytes.toString('utf8', 0, Math.min(bytes.length, HEAD_BYTES));
    }
    this.idle.touch(at);
    try {
      this.decoder.push(bytes, at);
    } catch (error) {
      // Never let a server's bytes throw out of a socket callback: it would end the whole run.
      this.events.failure ??= { kind: 'bad_response', message: `undecodable stream: ${(error as Error).message}` };
    }
    if (this.events.doneAt !== undefined && this.onDone) {
      const onDone = this.onDone;
      this.onDone = undefined;
      onDone();
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

/**
 * A non-streaming response: the whole JSON body, read when it has all arrived.
 * Its text gets no per-chunk times (there are none), only the end.
 */
class WholeBody implements BodySink {
  private readonly parts: Buffer[] = [];
  private readonly closed: Promise<BodyClosed>;
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
    this.parts.push(bytes);
  }

  close(at: number, ended: boolean, error: Error | undefined): void {
    this.exchange.tEnd = at;
    this.resolveClosed({ ended, error });
  }

  /** Fills the exchange from the body; returns what went wrong, if anything. */
  async outcome(probe: RequestProbe): Promise<{ class: RequestError['class']; message: string; body?: string } | undefined> {
    const closed = await this.closed;
    if (probe.abortReason instanceof AbortReason) return { class: probe.abortReason.errorClass, message: probe.abortReason.message };
    if (closed.error !== undefined || !closed.ended) {
      return { class: 'connection', message: closed.error ? describeNetworkError(closed.error) : 'connection closed mid-body' };
    }
    const text = Buffer.concat(this.parts).toString('utf8');
    let parsed: { choices?: { index?: number; message?: Record<string, unknown> }[]; usage?: Usage };
    try {
      parsed = JSON.parse(text);
    } catch {
      return { class: 'bad_response', message: 'the body is not JSON', body: text };
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray(parsed.choices)) {
      return { class: 'bad_response', message: 'the body has no choices', body: text };
    }
    for (const choice of parsed.choices) {
      const message = choice?.message;
      if (!message || typeof message !== 'object') continue;
      const index = typeof choice.index === 'number' ? choice.index : 0;
      const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : typeof message.reasoning === 'string' ? message.reasoning : '';
      const answer = typeof message.content === 'string' ? message.content : '';
      if (reasoning) this.exchange.chunks.push({ at: this.exchange.tEnd, text: reasoning, choice: index, reasoning: true });
      if (answer) this.exchange.chunks.push({ at: this.exchange.tEnd, text: answer, choice: index });
    }
    if (parsed.usage && typeof parsed.usage === 'object') this.exchange.usage = parsed.usage;
    return undefined;
  }
}

function eventReaderFor(api: ApiName): StreamEvents {
  if (api === 'responses') return new ResponsesEventReader();
  if (api === 'messages') return new MessagesEventReader();
  return new ChatEventReader();
}

/** The HTTP status of either SDK's error for a non-2xx response. */
function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof APIError || error instanceof AnthropicAPIError) return typeof error.status === 'number' ? error.status : undefined;
  return undefined;
}

/** The Messages API takes system prompts apart from the turns. */
function toMessagesRequest(messages: readonly ChatMessage[]) {
  const system = messages
    .filter((message) => message.role === 'system' || message.role === 'developer')
    .map((message) => message.content)
    .join('\n\n');
  const turns = messages
    .filter((message) => message.role !== 'system' && message.role !== 'developer')
    .map((message) => ({ role: message.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: message.content }));
  return system ? { system, messages: turns } : { messages: turns };
}

export class ChatClient {
  private readonly sdk: OpenAI;
  private readonly transport: TimedFetch;
  private readonly secrets: string[];
  private readonly interrupts = new InterruptWatch();
  private readonly api: ApiName;
  /** The Anthropic SDK, for the Messages API only. */
  private readonly anthropic: Anthropic | undefined;
  private readonly clock: Clock;

  constructor(options: ChatClientOptions) {
    this.api = options.api ?? 'chat';
    this.clock = options.clock ?? systemClock;
    this.transport = createTimedFetch({ newConnectionPerRequest: options.newConnectionPerRequest ?? false, clock: this.clock });
    // Servers without auth (vLLM, llama.cpp) ignore the header; the SDK insists on a key.
    const apiKey = options.apiKey ?? 'none';
    // Header values may be credentials too (a custom auth header): scrub the longer ones as well.
    const headerValues = Object.values(options.headers ?? {}).filter((value) => value.length >= 8);
    this.secrets = options.apiKey ? [options.apiKey, ...headerValues] : headerValues;
    this.sdk = new OpenAI({
      baseURL: options.baseURL,
      apiKey,
      maxRetries: 0,
      // tokenmeter enforces its own total and idle timeouts; the SDK's must never fire first.
      timeout: 24 * 3600 * 1000,
      fetch: this.transport.fetch,
      defaultHeaders: options.headers ?? {},
    });
    if (this.api === 'messages') {
      this.anthropic = new Anthropic({
        // The Anthropic SDK adds /v1/messages itself: give it the server root.
        baseURL: options.baseURL.replace(/\/v1\/?$/, ''),
        apiKey,
        maxRetries: 0,
        timeout: 24 * 3600 * 1000,
        fetch: this.transport.fetch,
        defaultHeaders: options.headers ?? {},
      });
    }
  }

  async send(request: ChatRequest): Promise<Exchange> {
    const clock = this.clock;
    const start = request.ts ?? clock.now();
    const exchange: Exchange = { id: request.id, ts: start, t0: start, tEnd: start, chunks: [] };
    const probe: RequestProbe = {};
    const abort = (reason: AbortReason): void => abortRequest(probe, reason);
    const totalTimer = clock.setTimeout(
      () => abort(new AbortReason('timeout', `total timeout: no complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    const idle = new IdleWatch(clock, request.idleTimeoutMs, () =>
      abort(new AbortReason('timeout', `idle timeout: no data for ${request.idleTimeoutMs} ms`)),
    );
    const unwatch = request.interrupt ? this.interrupts.watch(request.interrupt, () => abort(INTERRUPTED)) : undefined;
    const body = new StreamBody(exchange, idle, eventReaderFor(this.api));
    probe.sink = body;
    let afterDone: TimerHandle | undefined;
    body.onDone = () => {
      idle.stop();
      afterDone = clock.setTimeout(() => probe.response?.destroy(), AFTER_DONE_MS);
    };
    if (request.params.stream === false && this.api === 'chat') {
      exchange.streamed = false;
      probe.sink = new WholeBody(exchange, idle);
    }
    try {
      const { stream_options: streamOptions, ...params } = request.params;
      if (exchange.streamed === false) {
        await this.sdk.chat.completions
          .create({ ...params, model: request.model, messages: request.messages, stream: false } as OpenAI.ChatCompletionCreateParamsNonStreaming, {
            headers: { [REQUEST_ID_HEADER]: request.id },
            fetchOptions: { [PROBE_OPTION]: probe } as NonNullable<OpenAI.RequestOptions['fetchOptions']>,
          })
          .asResponse();
        exchange.status = 200;
        const outcome = await (probe.sink as WholeBody).outcome(probe);
        if (outcome) exchange.error = requestError({ ...outcome, status: 200 }, this.secrets);
        return exchange;
      }
      const options = {
        headers: { [REQUEST_ID_HEADER]: request.id },
        fetchOptions: { [PROBE_OPTION]: probe } as NonNullable<OpenAI.RequestOptions['fetchOptions']>,
      };
      const usageOptions = { ...(streamOptions as object | undefined), include_usage: true };
      if (this.anthropic) {
        // max_tokens is required by the Messages API; a scenario's own value wins.
        await this.anthropic.messages
          .create(
            { max_tokens: 1024, ...params, model: request.model, ...toMessagesRequest(request.messages), stream: true } as Anthropic.MessageCreateParamsStreaming,
            options as Anthropic.RequestOptions,
          )
          .asResponse();
      } else if (this.api === 'responses') {
        // No stream_options here: the usage comes with response.completed.
        const input = request.messages.map((message) => ({ role: message.role, content: message.content }));
        await this.sdk.responses
          .create({ ...params, model: request.model, input, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming, options)
          .asResponse();
      } else if (this.api === 'completions') {
        const prompt = request.messages.map((message) => message.content).join('\n\n');
        await this.sdk.completions
          .create({ ...params, model: request.model, prompt, stream: true, stream_options: usageOptions } as OpenAI.CompletionCreateParamsStreaming, options)
          .asResponse();
      } else {
        await this.sdk.chat.completions
          .create(
            { ...params, model: request.model, messages: request.messages, stream: true, stream_options: usageOptions } as OpenAI.ChatCompletionCreateParamsStreaming,
            options,
          )
          .asResponse();
      }
      exchange.status = 200;
      const closed = await body.closed;
      const outcome = this.streamOutcome(closed, body, probe);
      if (outcome) exchange.error = outcome;
    } catch (error) {
      probe.response?.destroy();
      exchange.tEnd = clock.now();
      exchange.error = this.classify(error, probe);
      const status = httpStatusOf(error);
      if (status !== undefined) exchange.status = status;
    } finally {
      clock.clearTimeout(totalTimer);
      clock.clearTimeout(afterDone);
      idle.stop();
      unwatch?.();
      exchange.t0 = probe.t0 ?? exchange.t0;
      // No schedule, no lateness: the request was due when it was sent (METRICS.md).
      if (request.ts === undefined) exchange.ts = exchange.t0;
      if (probe.connectMs !== undefined) exchange.connectMs = probe.connectMs;
    }
    return exchange;
  }

  /** How a 2xx stream ended: undefined when it ended with its final event. */
  private streamOutcome(closed: BodyClosed, body: StreamBody, probe: RequestProbe): RequestError | undefined {
    const events = body.events;
    if (events.failure) {
      return requestError({ class: events.failure.kind, message: events.failure.message, status: 200 }, this.secrets);
    }
    // [DONE] is the final event: whatever happens to the connection after it, the response is whole.
    if (events.doneAt !== undefined) return undefined;
    const aborted = probe.abortReason;
    if (aborted instanceof AbortReason) {
      return requestError({ class: aborted.errorClass, message: aborted.message, status: 200 }, this.secrets);
    }
    if (closed.error !== undefined || !closed.ended) {
      const message = closed.error ? describeNetworkError(closed.error) : 'connection closed mid-stream';
      return requestError({ class: 'connection', message, status: 200 }, this.secrets);
    }
    if (events.eventCount === 0) {
      const contentType = probe.response?.headers['content-type'] ?? 'none';
      return requestError(
        { class: 'bad_response', message: `the response is not an event stream (content-type: ${contentType})`, status: 200, body: body.head },
        this.secrets,
      );
    }
    return requestError({ class: 'truncated', message: 'the stream ended without its final event ([DONE], response.completed or message_stop)', status: 200 }, this.secrets);
  }

  private classify(error: unknown, probe: RequestProbe) {
    if (probe.abortReason instanceof AbortReason) {
      return requestError({ class: probe.abortReason.errorClass, message: probe.abortReason.message }, this.secrets);
    }
    const status = httpStatusOf(error);
    if (status !== undefined) {
      return requestError(
        { class: classOfStatus(status), message: (error as Error).message, status, body: probe.errorBody },
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
