/**
 * Where the body of a 2xx response goes as it arrives: a stream, decoded read
 * by read into timed chunks (the hot path), or a whole JSON body, read once it
 * has all arrived. Each knows, once the body closed, whether the response is
 * whole, and if not, why.
 */
import type { ErrorClass, Exchange, OutputChunk } from '../types.js';
import type { WholeResponse } from './api-adapter.js';
import { AbortReason, describeNetworkError, messageOf } from './errors.js';
import type { StreamEvents } from './event-reader.js';
import { SseDecoder } from './sse.js';
import type { BodySink, RequestProbe } from './timed-fetch.js';

/** Why a 2xx response is not a whole response: the error's class, message and what the server sent. */
export interface BodyFailure {
  class: ErrorClass;
  message: string;
  body?: string;
}

export interface ResponseBody extends BodySink {
  /** Waits for the body to close and fills the Exchange; undefined when the response is whole. */
  outcome(probe: RequestProbe): Promise<BodyFailure | undefined>;
}

/** The request's timers, told what the body does. */
export interface ActivityWatch {
  /** A read arrived at `at` (the client's clock, ms): the idle timeout counts from the last one. */
  touch(at: number): void;
  /**
   * The final event arrived (called once): the response is whole, whatever the
   * connection does next, and the request ends now.
   */
  finalEvent(): void;
}

interface BodyClosed {
  ended: boolean;
  error: Error | undefined;
}

/**
 * A 2xx without a single output chunk with text is no success (METRICS.md):
 * it would lower E2E and raise request throughput.
 */
const hasOutput = (chunks: readonly OutputChunk[]): boolean => chunks.some((chunk) => chunk.text.length > 0);

const EMPTY_STREAM: BodyFailure = { class: 'empty_response', message: 'the stream ended with its final event but no output text' };

/** Bytes of the body kept to show what a server sent instead of an event stream. */
const HEAD_BYTES = 300;

/**
 * The hot path: each read of the body is stamped by the transport on arrival
 * and decoded at once into timed chunks on the Exchange.
 *
 * The response ends at its first final event (METRICS.md, "End of a stream"):
 * the outcome is known then, and whatever the server sends after it (a second
 * [DONE], more events, a late close) is ignored.
 */
export class StreamBody implements ResponseBody {
  /** The start of the body, to show when it is not an event stream. */
  private head = '';
  private finalEventSeen = false;
  private readonly decoder: SseDecoder;
  private readonly closed: Promise<BodyClosed>;
  private resolveClosed!: (closed: BodyClosed) => void;

  constructor(
    private readonly exchange: Exchange,
    private readonly timers: ActivityWatch,
    private readonly events: StreamEvents,
  ) {
    // Events after the final one, even in the same read, are not the response's.
    this.decoder = new SseDecoder((event, at) => {
      if (this.events.doneAt === undefined) this.events.onEvent(event, at);
    });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  data(bytes: Buffer, at: number): void {
    if (this.finalEventSeen) return;
    if (this.exchange.tb === undefined) {
      this.exchange.tb = at;
      this.head = bytes.toString('utf8', 0, Math.min(bytes.length, HEAD_BYTES));
    }
    this.timers.touch(at);
    try {
      this.decoder.push(bytes, at);
    } catch (error) {
      // Never let a server's bytes throw out of a socket callback: it would end the whole run.
      this.events.failure ??= { kind: 'bad_response', message: `undecodable stream: ${messageOf(error)}` };
    }
    if (this.events.doneAt !== undefined) this.settle(this.events.doneAt, true, undefined);
  }

  close(at: number, ended: boolean, error: Error | undefined): void {
    if (this.finalEventSeen) return;
    const failureBefore = this.events.failure;
    try {
      if (ended) {
        this.decoder.end(at);
        // The last event, read though the end cut it short (for a final [DONE] without its blank line),
        // fails to parse because it was cut: the stream is truncated, not a bad response.
        if (this.events.doneAt === undefined && this.events.failure?.kind === 'bad_response') this.events.failure = failureBefore;
      }
    } catch (decodeError) {
      this.events.failure ??= { kind: 'bad_response', message: `undecodable stream: ${messageOf(decodeError)}` };
    }
    this.settle(this.events.doneAt ?? at, ended, error);
  }

  /** The response is over at `end` (its final event, or the close): fills the Exchange and the outcome. */
  private settle(end: number, ended: boolean, error: Error | undefined): void {
    this.exchange.chunks = this.events.chunks;
    if (this.events.usage !== undefined) this.exchange.usage = this.events.usage;
    if (this.events.timings !== undefined) this.exchange.timings = this.events.timings;
    this.exchange.tEnd = end;
    if (this.events.doneAt !== undefined) {
      this.finalEventSeen = true;
      this.timers.finalEvent();
    }
    this.resolveClosed({ ended, error });
  }

  /** Undefined when the stream ended with its final event. */
  async outcome(probe: RequestProbe): Promise<BodyFailure | undefined> {
    const closed = await this.closed;
    const events = this.events;
    if (events.failure) return { class: events.failure.kind, message: events.failure.message };
    // The final event: whatever happens to the connection after it, the response is whole.
    if (events.doneAt !== undefined) return hasOutput(events.chunks) ? undefined : EMPTY_STREAM;
    const aborted = probe.abortReason;
    if (aborted instanceof AbortReason) return { class: aborted.errorClass, message: aborted.message };
    if (closed.error !== undefined || !closed.ended) {
      return { class: 'connection', message: closed.error ? describeNetworkError(closed.error) : 'connection closed mid-stream' };
    }
    if (events.eventCount === 0) {
      const contentType = probe.response?.headers['content-type'] ?? 'none';
      return { class: 'bad_response', message: `the response is not an event stream (content-type: ${contentType})`, body: this.head };
    }
    return { class: 'truncated', message: 'the stream ended without its final event ([DONE], response.completed or message_stop)' };
  }
}

/**
 * A non-streaming response: the whole JSON body, read when it has all arrived.
 * Its text gets no per-chunk times (there are none), only the end.
 */
export class WholeBody implements ResponseBody {
  private readonly parts: Buffer[] = [];
  private readonly closed: Promise<BodyClosed>;
  private resolveClosed!: (closed: BodyClosed) => void;

  /** `read` is the API's: the output and usage of the parsed body. */
  constructor(
    private readonly exchange: Exchange,
    private readonly timers: ActivityWatch,
    private readonly read: (body: unknown, at: number) => WholeResponse,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  data(bytes: Buffer, at: number): void {
    this.exchange.tb ??= at;
    this.timers.touch(at);
    this.parts.push(bytes);
  }

  close(at: number, ended: boolean, error: Error | undefined): void {
    this.exchange.tEnd = at;
    this.resolveClosed({ ended, error });
  }

  async outcome(probe: RequestProbe): Promise<BodyFailure | undefined> {
    const closed = await this.closed;
    if (probe.abortReason instanceof AbortReason) return { class: probe.abortReason.errorClass, message: probe.abortReason.message };
    if (closed.error !== undefined || !closed.ended) {
      return { class: 'connection', message: closed.error ? describeNetworkError(closed.error) : 'connection closed mid-body' };
    }
    const text = Buffer.concat(this.parts).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { class: 'bad_response', message: 'the body is not JSON', body: text };
    }
    const response = this.read(parsed, this.exchange.tEnd);
    if ('failure' in response) return { class: 'bad_response', message: response.failure, body: text };
    this.exchange.chunks = response.chunks;
    if (response.usage !== undefined) this.exchange.usage = response.usage;
    return hasOutput(response.chunks) ? undefined : { class: 'empty_response', message: 'the response has no output text', body: text };
  }
}
