/**
 * `POST /v1/responses`: the request (the messages as `input`), and the reading
 * of its events into the same timed chunks, usage and end marker as chat:
 * tokens from `response.output_text.delta` (and reasoning, refusal and
 * tool-argument deltas), usage and the end from `response.completed`. No
 * `[DONE]` is sent.
 */
import type OpenAI from 'openai';
import type { OutputChunk, Usage } from '../../types.js';
import type { AdapterRequest, ApiAdapter, SdkConnection } from '../api-adapter.js';
import { EventReader } from '../event-reader.js';
import type { SseEvent } from '../sse.js';
import { logprobTexts, splitStreamOptions, usageBlockTimings } from './common.js';
import { openAiHttpError, openAiSender } from './openai-sdk.js';

/** The Responses API's adapter. */
export function responsesAdapter(connection: SdkConnection): ApiAdapter {
  const sdk = openAiSender(connection);
  return {
    send(request: AdapterRequest) {
      // No stream_options here: the usage comes with response.completed.
      const { params } = splitStreamOptions(request.params);
      const input = request.messages.map((message) => ({ role: message.role, content: message.content }));
      const body = { ...params, model: request.model, input, stream: true };
      // The scenario's params are passed through unchecked: the SDK's types cannot know them.
      return sdk.post('/responses', body as OpenAI.Responses.ResponseCreateParamsStreaming, request);
    },
    newReader: () => new ResponsesEventReader(),
    serverTimingsOf: usageBlockTimings,
    httpErrorOf: openAiHttpError,
  };
}

interface ResponsesEvent {
  type?: unknown;
  delta?: unknown;
  logprobs?: unknown;
  output_index?: unknown;
  response?: { usage?: Record<string, unknown> | null; error?: unknown; status?: unknown } | null;
  message?: unknown;
}

const ANSWER_DELTAS = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.function_call_arguments.delta']);
const REASONING_DELTAS = new Set(['response.reasoning_text.delta', 'response.reasoning_summary_text.delta']);
/** Events that end a response: completed, or stopped early at a limit (still a whole response). */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete']);

/** Reads Responses events: output, reasoning, refusal and tool-argument deltas; usage and the end from the final event. */
export class ResponsesEventReader extends EventReader {
  readonly onEvent = (event: SseEvent, at: number): void => {
    this.eventCount++;
    const parsed = this.parseObject<ResponsesEvent>(event);
    if (!parsed) return;
    const type = typeof parsed.type === 'string' ? parsed.type : event.event;
    if (type === undefined) return;
    if (ANSWER_DELTAS.has(type) || REASONING_DELTAS.has(type)) {
      if (typeof parsed.delta !== 'string' || parsed.delta.length === 0) return;
      const chunk: OutputChunk = { at, text: parsed.delta, choice: 0 };
      if (REASONING_DELTAS.has(type)) chunk.reasoning = true;
      if (Array.isArray(parsed.logprobs)) {
        chunk.logprobTokens = parsed.logprobs.length;
        const text = logprobTexts(parsed.logprobs);
        if (text !== undefined) chunk.logprobText = text;
      }
      this.chunks.push(chunk);
    } else if (FINAL_EVENTS.has(type)) {
      this.doneAt = at;
      const usage = parsed.response?.usage;
      if (usage && typeof usage === 'object') this.usage = normalizeUsage(usage);
    } else if (type === 'response.failed' || type === 'error') {
      const error = parsed.response?.error ?? parsed.message ?? parsed;
      this.failure ??= { kind: 'stream_error', message: `error event mid-stream: ${JSON.stringify(error).slice(0, 200)}` };
    }
  };
}

/** Responses usage (input_tokens, output_tokens) under the chat names the metrics read, the original kept. */
export function normalizeUsage(usage: Record<string, unknown>): Usage {
  const normalized: Usage = { ...usage };
  if (typeof usage.input_tokens === 'number') normalized.prompt_tokens = usage.input_tokens;
  if (typeof usage.output_tokens === 'number') normalized.completion_tokens = usage.output_tokens;
  return normalized;
}
