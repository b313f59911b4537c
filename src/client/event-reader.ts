/**
 * What every API's event reader shares: the timed chunks, usage, end and
 * failure it gives the client, and the parsing of one event's JSON. Each API
 * reads its own events in its adapter's file (src/client/apis/).
 */
import type { OutputChunk, Usage } from '../types.js';
import type { SseEvent } from './sse.js';

/** What every API's event reader gives the client: timed chunks, usage, the end, any failure. */
export interface StreamEvents {
  readonly chunks: OutputChunk[];
  usage: Usage | undefined;
  /** Arrival of the final event ([DONE], response.completed, message_stop), ms. */
  doneAt: number | undefined;
  /** Set when the server sent an error event, or an event tokenmeter could not parse. */
  failure: { kind: 'stream_error' | 'bad_response'; message: string } | undefined;
  /** SSE events seen, of any kind. */
  eventCount: number;
  /** llama.cpp's `timings` object, when the server sent one. */
  timings: Record<string, unknown> | undefined;
  /** Reads one event that arrived at `at` (the client's clock, ms). */
  readonly onEvent: (event: SseEvent, at: number) => void;
}

/**
 * The results, and the parsing of an event's JSON, where valid JSON that is
 * not an object is a bad response, never a throw: a server's bytes never get
 * to throw on the hot path.
 */
export abstract class EventReader implements StreamEvents {
  readonly chunks: OutputChunk[] = [];
  usage: Usage | undefined;
  doneAt: number | undefined;
  failure: StreamEvents['failure'];
  eventCount = 0;
  timings: Record<string, unknown> | undefined;

  abstract readonly onEvent: (event: SseEvent, at: number) => void;

  /**
   * The event's data as a JSON object, or undefined with the failure recorded.
   * `T` is the shape the reader expects, every field optional and checked
   * where it is read: the cast only names the fields, it trusts none of them.
   */
  protected parseObject<T extends object>(event: SseEvent): T | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      return this.unreadable(event, 'unparseable SSE data');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return this.unreadable(event, 'SSE data is not a JSON object');
    return parsed as T;
  }

  /**
   * Records an event whose data is not a JSON object. An `event: error` is the
   * server's error whatever its data (plain text is its message): a stream
   * error, not a bad response.
   */
  private unreadable(event: SseEvent, why: string): undefined {
    this.failure ??=
      event.event === 'error'
        ? { kind: 'stream_error', message: `error event mid-stream: ${event.data.slice(0, 200)}` }
        : { kind: 'bad_response', message: `${why}: ${event.data.slice(0, 120)}` };
    return undefined;
  }
}

/** The value if it is a string, else ''. */
export const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');
