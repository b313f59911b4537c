/**
 * Anthropic's Messages API (`POST /v1/messages`, which SambaNova also serves),
 * through `@anthropic-ai/sdk`: the request (system prompts apart from the
 * turns), and the reading of its events into the same timed chunks, usage and
 * end marker as chat: tokens from content_block_delta text (and thinking, and
 * tool input) deltas, input tokens from message_start, output tokens from
 * message_delta, the end at message_stop.
 */
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import type { ChatMessage, Usage } from '../../types.js';
import type { AdapterRequest, ApiAdapter, SdkConnection } from '../api-adapter.js';
import { EventReader } from '../event-reader.js';
import type { SseEvent } from '../sse.js';
import { sdkSettings, splitStreamOptions, usageBlockTimings } from './common.js';
import { sdkSender } from './sdk-sender.js';

/** The Messages API's adapter; the Anthropic SDK describes its requests and errors. */
export function messagesAdapter(connection: SdkConnection): ApiAdapter {
  // The Anthropic SDK adds /v1/messages itself: give it the server root.
  const client = new Anthropic({ baseURL: connection.baseURL.replace(/\/v1\/?$/, ''), ...sdkSettings(connection) });
  const sdk = sdkSender(client, (status, body, message, headers) => APIError.generate(status, body, message, headers), connection);
  return {
    send(request: AdapterRequest) {
      const { params } = splitStreamOptions(request.params);
      // max_tokens is required by the Messages API; a scenario's own value wins.
      const body = { max_tokens: 1024, ...params, model: request.model, ...toMessagesRequest(request.messages), stream: true };
      // The scenario's params are passed through unchecked: the SDK's types cannot know them.
      return sdk.post('/v1/messages', body as Anthropic.MessageCreateParamsStreaming, request);
    },
    newReader: () => new MessagesEventReader(),
    serverTimingsOf: usageBlockTimings,
    httpErrorOf: (error) =>
      error instanceof APIError && typeof error.status === 'number' ? { status: error.status, message: error.message } : undefined,
  };
}

const countOf = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0);

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

interface MessagesEvent {
  type?: unknown;
  delta?: { type?: unknown; text?: unknown; thinking?: unknown; partial_json?: unknown } | null;
  message?: { usage?: Record<string, unknown> | null } | null;
  usage?: Record<string, unknown> | null;
  error?: unknown;
}

/** Reads Messages events: text, thinking and tool-input deltas; usage merged from message_start and message_delta; the end at message_stop. */
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
    // The prompt is every input token: those read from and written to the prompt cache are not in input_tokens.
    if (typeof merged.input_tokens === 'number') {
      merged.prompt_tokens = merged.input_tokens + countOf(merged.cache_read_input_tokens) + countOf(merged.cache_creation_input_tokens);
    }
    // message_start's output_tokens is a placeholder (often 1); only message_delta's is the count.
    if (!atStart && typeof usage.output_tokens === 'number') merged.completion_tokens = usage.output_tokens;
    if (atStart) delete merged.completion_tokens;
    this.usage = merged;
  }
}
