/**
 * Turns the SSE events of Anthropic's streamed Messages API (`POST /v1/messages`,
 * which SambaNova also serves) into the same timed chunks, usage and end marker
 * as chat/completions: tokens from content_block_delta text (and thinking, and
 * tool input) deltas, input tokens from message_start, output tokens from
 * message_delta, the end at message_stop.
 */
import type { OutputChunk, Usage } from '../types.js';
import { EventReader } from './chat-events.js';
import type { SseEvent } from './sse.js';

interface MessagesEvent {
  type?: unknown;
  delta?: { type?: unknown; text?: unknown; thinking?: unknown; partial_json?: unknown } | null;
  message?: { usage?: Record<string, unknown> | null } | null;
  usage?: Record<string, unknown> | null;
  error?: unknown;
}

export class MessagesEventReader extends EventReader {
  readonly onEvent = (event: SseEvent, at: number): void => {
    this.eventCount++;
    const parsed = this.parseObject<MessagesEvent>(event);
    if (!parsed) return;
    const type = typeof parsed.type === 'string' ? parsed.type : event.event;
    if (type === 'content_block_delta') {
      const delta = parsed.delta;
      if (!delta || typeof delta !== 'object') return;
      const thinking = typeof delta.thinking === 'string' ? delta.thinking : '';
      const text = typeof delta.text === 'string' ? delta.text : typeof delta.partial_json === 'string' ? delta.partial_json : '';
      if (thinking) this.chunks.push({ at, text: thinking, choice: 0, reasoning: true });
      if (text) this.chunks.push({ at, text, choice: 0 });
    } else if (type === 'message_start') {
      this.mergeUsage(parsed.message?.usage, true);
    } else if (type === 'message_delta') {
      this.mergeUsage(parsed.usage, false);
    } else if (type === 'message_stop') {
      this.doneAt = at;
    } else if (type === 'error') {
      this.failure ??= { kind: 'stream_error', message: `error event mid-stream: ${JSON.stringify(parsed.error ?? parsed).slice(0, 200)}` };
    }
  };

  /** message_start carries the input tokens; message_delta the (cumulative) output tokens. */
  private mergeUsage(usage: Record<string, unknown> | null | undefined, atStart: boolean): void {
    if (!usage || typeof usage !== 'object') return;
    const merged: Usage = { ...this.usage, ...usage };
    if (typeof merged.input_tokens === 'number') merged.prompt_tokens = merged.input_tokens;
    // message_start's output_tokens is a placeholder (often 1); only message_delta's is the count.
    if (!atStart && typeof usage.output_tokens === 'number') merged.completion_tokens = usage.output_tokens;
    if (atStart) delete merged.completion_tokens;
    this.usage = merged;
  }
}
