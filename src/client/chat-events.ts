/**
 * Turns the SSE events of a streamed `chat/completions` response into timed
 * output chunks, the usage block and the end-of-stream marker. Knows the
 * wire format; knows nothing about tokens or metrics.
 */
import type { OutputChunk, Usage } from '../types.js';
import type { SseEvent } from './sse.js';

interface ChatDelta {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  refusal?: unknown;
  tool_calls?: unknown;
}

interface ChatChunk {
  choices?: { index?: number; delta?: ChatDelta; text?: string; logprobs?: { content?: unknown; tokens?: unknown } | null }[];
  usage?: Usage | null;
  error?: unknown;
}

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
  readonly onEvent: (event: SseEvent, at: number) => void;
}

/**
 * What every API's reader shares: the results, and the parsing of an event's
 * JSON, where valid JSON that is not an object is a bad response, never a
 * throw: a server's bytes never get to throw on the hot path.
 */
export abstract class EventReader implements StreamEvents {
  readonly chunks: OutputChunk[] = [];
  usage: Usage | undefined;
  doneAt: number | undefined;
  failure: StreamEvents['failure'];
  eventCount = 0;

  abstract readonly onEvent: (event: SseEvent, at: number) => void;

  /** The event's data as a JSON object, or undefined with the failure recorded. */
  protected parseObject<T extends object>(event: SseEvent): T | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      this.failure ??= { kind: 'bad_response', message: `unparseable SSE data: ${event.data.slice(0, 120)}` };
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.failure ??= { kind: 'bad_response', message: `SSE data is not a JSON object: ${event.data.slice(0, 120)}` };
      return undefined;
    }
    return parsed as T;
  }
}

export class ChatEventReader extends EventReader {
  readonly onEvent = (event: SseEvent, at: number): void => {
    this.eventCount++;
    if (event.data === '[DONE]') {
      this.doneAt = at;
      return;
    }
    const parsed = this.parseObject<ChatChunk>(event);
    if (!parsed) return;
    if (event.event === 'error' || (parsed.error !== undefined && parsed.error !== null)) {
      this.failure ??= { kind: 'stream_error', message: `error event mid-stream: ${describe(parsed.error ?? parsed)}` };
      return;
    }
    const usage = parsed.usage && typeof parsed.usage === 'object' ? parsed.usage : undefined;
    const choices = parsed.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        if (choice === null || typeof choice !== 'object') continue;
        const delta = choice.delta;
        const index = typeof choice.index === 'number' ? choice.index : 0;
        // Reasoning text is output too (its tokens were generated and streamed), kept apart for TTFO.
        const reasoning = delta && typeof delta === 'object' ? reasoningText(delta) : '';
        const text = delta && typeof delta === 'object' ? answerText(delta) : textOf(choice.text);
        if (reasoning.length > 0) this.chunks.push({ at, text: reasoning, choice: index, reasoning: true });
        if (text.length === 0 && reasoning.length === 0) continue;
        const chunk: OutputChunk = text.length > 0 ? { at, text, choice: index } : this.chunks[this.chunks.length - 1]!;
        if (text.length > 0) this.chunks.push(chunk);
        // Chat puts one logprobs.content entry per token; legacy completions one logprobs.tokens entry.
        const logprobs = choice.logprobs?.content ?? choice.logprobs?.tokens;
        if (Array.isArray(logprobs)) chunk.logprobTokens = logprobs.length;
        // Continuous usage (vLLM): a running completion_tokens on every chunk.
        if (usage && typeof usage.completion_tokens === 'number') chunk.cumulativeTokens = usage.completion_tokens;
      }
    }
    if (usage) this.usage = usage;
  };
}

const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Reasoning text of a delta: servers name it reasoning_content or reasoning; some proxies fill both with the same text, so it counts once. */
function reasoningText(delta: ChatDelta): string {
  return textOf(delta.reasoning_content) || textOf(delta.reasoning);
}

/** The rest of a delta's generated text: the answer, a refusal, tool-call arguments. */
function answerText(delta: ChatDelta): string {
  let text = textOf(delta.content) + textOf(delta.refusal);
  if (Array.isArray(delta.tool_calls)) {
    for (const call of delta.tool_calls) text += textOf((call as { function?: { arguments?: unknown } } | null)?.function?.arguments);
  }
  return text;
}

function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error).slice(0, 200);
}
