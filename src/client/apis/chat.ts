/**
 * `POST /v1/chat/completions`: the request, and the reading of its events
 * (also those of legacy completions, which share the chunk format) into timed
 * output chunks, the usage block and the end-of-stream marker. The one API
 * tokenmeter also calls without streaming (`stream: false`).
 */
import type OpenAI from 'openai';
import type { OutputChunk, Usage } from '../../types.js';
import type { AdapterRequest, ApiAdapter, SdkConnection, WholeResponse } from '../api-adapter.js';
import { EventReader, textOf } from '../event-reader.js';
import type { SseEvent } from '../sse.js';
import { logprobTexts, splitStreamOptions, usageBlockTimings, withUsage } from './common.js';
import { openAiHttpError, openAiSender } from './openai-sdk.js';

/** The chat API's adapter, the only one that also answers whole (`stream: false`). */
export function chatAdapter(connection: SdkConnection): ApiAdapter {
  const sdk = openAiSender(connection);
  return {
    send(request: AdapterRequest) {
      const { params, streamOptions } = splitStreamOptions(request.params);
      const body = { ...params, model: request.model, messages: request.messages, stream: true, stream_options: withUsage(streamOptions) };
      // The scenario's params are passed through unchecked: the SDK's types cannot know them.
      return sdk.post('/chat/completions', body as OpenAI.ChatCompletionCreateParamsStreaming, request);
    },
    newReader: () => new ChatEventReader(),
    serverTimingsOf: usageBlockTimings,
    httpErrorOf: openAiHttpError,
    whole: {
      send(request: AdapterRequest) {
        const { params } = splitStreamOptions(request.params);
        const body = { ...params, model: request.model, messages: request.messages, stream: false };
        // As above: the scenario's params are passed through unchecked.
        return sdk.post('/chat/completions', body as OpenAI.ChatCompletionCreateParamsNonStreaming, request);
      },
      read: readWholeChat,
    },
  };
}

/** The generated text of a chat message (a whole response) or of a delta (a streamed one): the same fields. */
interface ChatText {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  refusal?: unknown;
  tool_calls?: unknown;
}

interface ChatChunk {
  choices?: { index?: unknown; delta?: ChatText | null; text?: unknown; logprobs?: { content?: unknown; tokens?: unknown } | null }[];
  usage?: Usage | null;
  /** llama.cpp's server timings, on its final chunk. */
  timings?: unknown;
  error?: unknown;
}

/**
 * Pushes the text of a message or delta as chunks stamped `at`: its reasoning
 * (kept apart for TTFO: its tokens were generated too), then the rest. Returns
 * the last chunk pushed, which the chunk's logprobs and usage belong to.
 */
function pushChatText(chunks: OutputChunk[], message: ChatText, at: number, choice: number): OutputChunk | undefined {
  const reasoning = reasoningText(message);
  const answer = answerText(message);
  let last: OutputChunk | undefined;
  if (reasoning.length > 0) chunks.push((last = { at, text: reasoning, choice, reasoning: true }));
  if (answer.length > 0) chunks.push((last = { at, text: answer, choice }));
  return last;
}

/** Reasoning text: servers name it reasoning_content or reasoning; some proxies fill both with the same text, so it counts once. */
function reasoningText(message: ChatText): string {
  return textOf(message.reasoning_content) || textOf(message.reasoning);
}

/** The rest of the generated text: the answer, a refusal, tool-call arguments. */
function answerText(message: ChatText): string {
  let text = textOf(message.content) + textOf(message.refusal);
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) text += textOf(isObject(call) && isObject(call.function) ? call.function.arguments : undefined);
  }
  return text;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';

/** A whole chat completion: its choices' messages, all stamped at the end. */
function readWholeChat(body: unknown, at: number): WholeResponse {
  if (!isObject(body) || !Array.isArray(body.choices)) return { failure: 'the body has no choices' };
  const chunks: OutputChunk[] = [];
  for (const choice of body.choices) {
    if (!isObject(choice) || !isObject(choice.message)) continue;
    pushChatText(chunks, choice.message, at, typeof choice.index === 'number' ? choice.index : 0);
  }
  // A Usage only names the fields the metrics read; each is checked where it is read.
  return { chunks, usage: isObject(body.usage) ? (body.usage as Usage) : undefined };
}

/** Reads chat (and legacy completions) chunks: text, reasoning, logprobs, continuous and final usage, [DONE]. */
export class ChatEventReader extends EventReader {
  /**
   * Usage blocks that came on a chunk of one choice, by choice: llama.cpp sends
   * one per choice with `n > 1` (summed, never overwritten: METRICS.md), vLLM's
   * continuous usage a running total on each chunk. A block on a chunk without
   * choices is the request's total and wins.
   */
  private usageByChoice: Map<number, Usage> | undefined;
  private totalUsage: Usage | undefined;

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
    if (isObject(parsed.timings)) this.timings = parsed.timings;
    const choices = parsed.choices;
    let usageChoice: number | undefined;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        if (choice === null || typeof choice !== 'object') continue;
        const delta = choice.delta;
        const index = typeof choice.index === 'number' ? choice.index : 0;
        let chunk: OutputChunk | undefined;
        usageChoice ??= index;
        if (delta && typeof delta === 'object') chunk = pushChatText(this.chunks, delta, at, index);
        else {
          // Legacy completions: the text is on the choice itself.
          const text = textOf(choice.text);
          if (text.length > 0) this.chunks.push((chunk = { at, text, choice: index }));
        }
        if (!chunk) continue;
        // Chat puts one logprobs.content entry per token; legacy completions one logprobs.tokens entry.
        const logprobs = choice.logprobs?.content ?? choice.logprobs?.tokens;
        if (Array.isArray(logprobs)) {
          chunk.logprobTokens = logprobs.length;
          const text = logprobTexts(logprobs);
          if (text !== undefined) chunk.logprobText = text;
        }
        // Continuous usage (vLLM): a running completion_tokens on every chunk.
        if (usage && typeof usage.completion_tokens === 'number') chunk.cumulativeTokens = usage.completion_tokens;
      }
    }
    if (usage) this.addUsage(usage, usageChoice);
  };

  private addUsage(usage: Usage, choice: number | undefined): void {
    if (choice === undefined) {
      this.usage = this.totalUsage = usage;
      return;
    }
    if (this.totalUsage) return;
    (this.usageByChoice ??= new Map()).set(choice, usage);
    this.usage = this.usageByChoice.size === 1 ? usage : sumUsage([...this.usageByChoice.values()]);
  }
}

/** One usage block per choice (llama.cpp with n > 1) as the request's: completion tokens summed, the prompt counted once. */
function sumUsage(blocks: readonly Usage[]): Usage {
  const completion = blocks.reduce((sum, block) => sum + (typeof block.completion_tokens === 'number' ? block.completion_tokens : 0), 0);
  const prompt = blocks[0]!.prompt_tokens;
  return {
    ...blocks[0]!,
    completion_tokens: completion,
    ...(typeof prompt === 'number' ? { total_tokens: prompt + completion } : {}),
    per_choice_usage: blocks,
  };
}

function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  if (isObject(error) && 'message' in error) return String(error.message);
  return JSON.stringify(error).slice(0, 200);
}
