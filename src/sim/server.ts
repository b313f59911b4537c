/**
 * The built-in OpenAI-compatible simulator: a real HTTP server on 127.0.0.1
 * that streams `chat/completions` with known timing and known token counts.
 *
 * Timing model, per model: up to `capacity` streams decode at once; a request
 * beyond that waits in a FIFO queue (so a concurrency sweep shows a knee in
 * TTFT). Once admitted, a stream sends a role-only chunk at once, its first
 * token chunk `ttftMs` later, and each following chunk when its last token is
 * due at `tokensPerSecond`. So TPOT is exactly 1000 / tokensPerSecond ms.
 *
 * It keeps the ground truth (write time, tokens and text of every chunk) for
 * tests. It shares no code with the client (METRICS.md): a decoding bug
 * cannot hide in both.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { SimConfig, SimModelProfile } from '../types.js';
import { profileFor } from './profile.js';
import { drawInteger, seededRandom, type Random } from '../util/random.js';
import { SIM_WORDS } from './words.js';
import { tokenizeRoute, type TokenizeMode } from './tokenize.js';
import { messageTokens, PrefixCache, simMessagesOf, type AdmittedPrompt, type SimMessage } from './prefix-cache.js';

/** One chunk the simulator wrote. */
export interface SimChunkTruth {
  /** performance.now() just before the write, ms. */
  at: number;
  tokens: number;
  text: string;
  /** Sent as delta.reasoning_content. */
  reasoning: boolean;
  /** Choice index (n > 1). */
  choice: number;
}

/** What the simulator did for one request. */
export interface SimRequestTruth {
  /** The `x-tokenmeter-request-id` header, when sent. */
  requestId?: string;
  model: string;
  stream: boolean;
  /** performance.now() when the request's headers had arrived, ms. */
  receivedAt: number;
  /** When a decode slot was free for it, ms. */
  admittedAt?: number;
  /** Token-carrying chunks, in order. */
  chunks: SimChunkTruth[];
  /** Tokens streamed. */
  completionTokens: number;
  /** `usage.completion_tokens` as reported. */
  usageCompletionTokens: number;
  /** Whether the whole response was written. */
  finished: boolean;
  /** performance.now() just before each write of the final event (twice with `afterDone: repeatDone`), ms. */
  finalEventsAt: number[];
  /** Dropped unanswered, its connection closed, because it came on a reused connection (`staleKeepAlive`). */
  droppedOnStaleConnection?: boolean;
  /** The request's messages (chat, Messages; Responses' input list) as they arrived: what a test checks a session's history by. */
  messages?: SimMessage[];
  /** `prefixCache`: prompt tokens found in the cache, as usage reports them. */
  cachedPromptTokens?: number;
}

/** With `afterDone: repeatDone`, the second final event comes this long after the first, ms. */
export const REPEAT_DONE_MS = 300;

export interface SimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Keep a SimRequestTruth per request (tests); off by default to bound memory. */
  keepTruth?: boolean;
  /** How POST /tokenize and /detokenize behave (sim/tokenize.ts; default: they answer). */
  tokenize?: TokenizeMode;
}

export interface RunningSimulator {
  /** Base URL for an OpenAI client, ending in /v1. */
  baseURL: string;
  port: number;
  /** Requests in arrival order, dropped ones included: every attempt the server saw (empty unless keepTruth). */
  truth: SimRequestTruth[];
  /** performance.now() when each tokenize or detokenize request arrived, ms. */
  tokenizeArrivals: number[];
  close(): Promise<void>;
}

/** Admits at most `capacity` streams at once; the rest wait their turn. */
class DecodeSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly capacity: number) {}

  acquire(start: () => void): () => void {
    let cancelled = false;
    const run = (): void => {
      if (cancelled) return this.release();
      start();
    };
    if (this.active < this.capacity) {
      this.active++;
      run();
    } else {
      this.waiting.push(() => {
        this.active++;
        run();
      });
    }
    return () => {
      cancelled = true;
    };
  }

  release(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next();
  }
}

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown; continuous_usage_stats?: unknown } | null;
  logprobs?: unknown;
  top_logprobs?: unknown;
  max_tokens?: unknown;
  max_output_tokens?: unknown;
  max_completion_tokens?: unknown;
  /** vLLM's (and llama.cpp's): generate until the cap, never stopping early. */
  ignore_eos?: unknown;
  /** vLLM's: generate at least this many tokens (still capped). */
  min_tokens?: unknown;
  n?: unknown;
  input?: unknown;
  prompt?: unknown;
}

export async function startSimulator(config: SimConfig, options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const truth: SimRequestTruth[] = [];
  const slotsByModel = new Map<string, DecodeSlots>();
  const cachesByModel = new Map<string, PrefixCache>();
  let requestCount = 0;
  /** Connections that served a request: with `staleKeepAlive`, the next request on one is dropped. */
  const servedConnections = new WeakSet<object>();
  const tokenize = tokenizeRoute(config, options.tokenize);

  const slotsFor = (model: string, profile: SimModelProfile): DecodeSlots => {
    let slots = slotsByModel.get(model);
    if (!slots) slotsByModel.set(model, (slots = new DecodeSlots(profile.capacity)));
    return slots;
  };

  const server = http.createServer((req, res) => {
    const arrivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    // OpenAI's SDK sends a bearer token; Anthropic's an x-api-key header.
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}` && req.headers['x-api-key'] !== options.apiKey) {
      return sendError(res, 401, 'invalid_api_key', 'Incorrect API key provided.');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const names = Object.keys(config.models);
      return sendJson(res, 200, {
        object: 'list',
        data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tokenmeter-sim' })),
      });
    }
    if (tokenize.handles(req, res, path, arrivedAt)) return;
    const wire = req.method === 'POST' ? WIRE_FORMATS[path] : undefined;
    if (wire) {
      readJson(req).then(
        (body) => {
          const receivedAt = arrivedAt;
          if (body === undefined || typeof body.model !== 'string' || wire.promptOf(body) === undefined) {
            return sendError(res, 400, 'invalid_request_error', `model (string) and ${wire.promptField} are required`);
          }
          const profile = profileFor(config, body.model);
          const record: SimRequestTruth = {
            model: body.model,
            stream: body.stream === true || !wire.canBuffer,
            receivedAt,
            chunks: [],
            completionTokens: 0,
            usageCompletionTokens: 0,
            finished: false,
            finalEventsAt: [],
          };
          const requestId = req.headers['x-tokenmeter-request-id'];
          if (typeof requestId === 'string') record.requestId = requestId;
          const messages = simMessagesOf(body.messages ?? body.input);
          if (options.keepTruth && messages) record.messages = messages;
          if (options.keepTruth) truth.push(record);
          if (profile.staleKeepAlive || profile.quirks?.includes('close-after-response')) {
            if (servedConnections.has(req.socket)) {
              record.droppedOnStaleConnection = true;
              req.socket.destroy();
              return;
            }
            servedConnections.add(req.socket);
          }
          const requestNumber = requestCount++;
          const random = seededRandom((config.seed * 1_000_003 + requestNumber) >>> 0);
          const choices = wire.choices ? (positiveInteger(body.n) ?? 1) : 1;
          if (choices > 8) return sendError(res, 400, 'invalid_request_error', 'n must be between 1 and 8');
          const plans = Array.from({ length: choices }, () => planCompletion(body, profile, random));
          let cache: PrefixCache | undefined;
          if (profile.prefixCache && messages) {
            cache = cachesByModel.get(body.model);
            if (!cache) cachesByModel.set(body.model, (cache = new PrefixCache()));
          }
          const prompt = { messages, ...(cache ? { cache } : {}) };
          serveCompletion(req, res, wire, body, profile, plans, record, slotsFor(body.model, profile), requestNumber, options.keepTruth === true, prompt);
        },
        () => sendError(res, 400, 'invalid_request_error', 'the body is not valid JSON'),
      );
      return;
    }
    sendError(res, 404, 'not_found', `no route ${req.method} ${path}`);
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    baseURL: `http://${host}:${address.port}/v1`,
    port: address.port,
    truth,
    tokenizeArrivals: tokenize.arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface CompletionPlan {
  /** Tokens of each token-carrying chunk. */
  chunkTokens: number[];
  /** Text of each token of each chunk: `wordsPerToken` words with leading spaces. */
  tokenTexts: string[][];
  /** Text of each chunk: its tokens' texts joined. */
  chunkTexts: string[];
  /** Whether each chunk is reasoning (sent as delta.reasoning_content) rather than answer. */
  chunkReasoning: boolean[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
}

function planCompletion(body: ChatBody, profile: SimModelProfile, random: Random): CompletionPlan {
  const maxTokens = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens) ?? positiveInteger(body.max_output_tokens);
  // The profile's length is drawn even when the request overrides it, so the rest of the plan stays the same.
  const drawn = Math.max(1, drawInteger(profile.outputTokens, random));
  // Like vLLM: ignore_eos decodes to the cap (no cap: the profile's length, as no context limit is simulated);
  // min_tokens lengthens a shorter answer.
  const ignoreEos = body.ignore_eos === true && maxTokens !== undefined;
  const minTokens = positiveInteger(body.min_tokens) ?? 0;
  const wanted = ignoreEos ? maxTokens : Math.max(drawn, minTokens);
  const capped = maxTokens === undefined ? wanted : Math.min(wanted, maxTokens);
  const total = profile.emptyStream ? 0 : capped;
  const wordsPerToken = profile.wordsPerToken ?? 1;
  const reasoningTotal = Math.min(drawInteger(profile.reasoningTokens ?? 0, random), total - 1);
  const chunkTokens: number[] = [];
  const tokenTexts: string[][] = [];
  const chunkReasoning: boolean[] = [];
  const quirks = new Set(profile.quirks ?? []);
  for (let sent = 0; sent < total; ) {
    const reasoning = sent < reasoningTotal;
    // A chunk is all reasoning or all answer, so the truth of each is exact.
    const limit = reasoning ? reasoningTotal - sent : total - sent;
    // llama.cpp holds tokens back while a stop string might still match, then flushes them in one event (2–11 measured).
    const heldBack = quirks.has('hold-back-flush') && sent > 0 && random() < HOLD_BACK_SHARE ? 2 + Math.floor(random() * 10) : 0;
    const tokens = Math.min(heldBack || Math.max(1, drawInteger(profile.tokensPerChunk, random)), limit);
    chunkReasoning.push(reasoning);
    const texts: string[] = [];
    for (let i = 0; i < tokens; i++) {
      let text = '';
      for (let w = 0; w < wordsPerToken; w++) text += ' ' + SIM_WORDS[Math.floor(random() * SIM_WORDS.length)];
      texts.push(text);
    }
    // A token with no text (llama.cpp's `<s>` mid-stream): generated and counted by usage, in no event's text.
    if (quirks.has('textless-token') && sent < total / 2 && sent + tokens >= total / 2) texts.push('');
    chunkTokens.push(texts.length);
    tokenTexts.push(texts);
    sent += tokens;
  }
  return {
    chunkTokens,
    tokenTexts,
    chunkTexts: tokenTexts.map((texts) => texts.join('')),
    chunkReasoning,
    finishReason: maxTokens !== undefined && (ignoreEos || wanted > maxTokens) ? 'length' : 'stop',
    promptTokens: estimatePromptTokens(body.messages ?? body.input ?? body.prompt),
  };
}

/** With the hold-back-flush quirk: the share of chunks after the first that are a flush of held-back tokens. */
const HOLD_BACK_SHARE = 0.15;

/** An approximation (words plus a per-message template overhead, prefix-cache.ts): the simulator has no tokenizer. */
function estimatePromptTokens(prompt: unknown): number {
  return simMessagesOf(Array.isArray(prompt) ? prompt : [{ content: prompt }])!.reduce((sum, message) => sum + messageTokens(message), 0);
}

/** Extras a token chunk may carry, when the request asked for them. */
interface ChunkExtras {
  /** logprobs.content entries, one per token. */
  logprobs?: string[];
  /** Running usage (continuous usage). */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** How one API puts the same completion on the wire. */
interface WireFormat {
  /** Where the prompt is, for the 400 message. */
  promptField: string;
  promptOf(body: ChatBody): unknown;
  /** Whether `n` is honoured. */
  choices: boolean;
  /** Whether `stream: false` gives one JSON body (else it always streams). */
  canBuffer: boolean;
  /** Events sent when decoding starts. */
  start(ids: WireIds, choices: number): string;
  chunk(ids: WireIds, choice: number, text: string, reasoning: boolean, extras: ChunkExtras): string;
  /** The closing events: finish reasons, usage (when asked for), the end marker. */
  end(ids: WireIds, ending: WireEnding): string;
}

/** What a response's closing events say. */
interface WireEnding {
  finishReasons: string[];
  /** The request's usage, when asked for. */
  usage: Record<string, unknown> | undefined;
  /** Instead of the total (`usage-per-choice`): each choice's own, on its finish chunk. */
  usagePerChoice?: Record<string, unknown>[];
  /** llama.cpp's `timings`, on the last chunk (`llamacpp-timings`). */
  timings?: Record<string, unknown>;
}

interface WireIds {
  id: string;
  created: number;
  model: string;
}

const sse = (data: string, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;

const logprobsJson = (tokens: string[]): string =>
  JSON.stringify({ content: tokens.map((token) => ({ token, logprob: -0.5, bytes: null, top_logprobs: [] })) });

/** One chat or legacy-completions chunk: the envelope both APIs share around `rest` (choices, usage). */
const chunkJson = (ids: WireIds, object: string, rest: string): string =>
  `{"id":"${ids.id}","object":"${object}","created":${ids.created},"model":${JSON.stringify(ids.model)},${rest}}`;

/** The end both choice-based APIs send: a finish chunk per choice, the usage chunk when asked, [DONE]. */
function endOfChoices(ids: WireIds, object: string, emptyPart: string, ending: WireEnding): string {
  const perChoice = ending.usagePerChoice;
  const total = perChoice ? undefined : ending.usage;
  const timings = ending.timings ? `,"timings":${JSON.stringify(ending.timings)}` : '';
  const last = ending.finishReasons.length - 1;
  return (
    ending.finishReasons
      .map((reason, choice) => {
        const usage = perChoice ? `,"usage":${JSON.stringify(perChoice[choice])}` : '';
        // The timings ride on the last chunk: the usage chunk, or without one the last finish chunk.
        const lastTimings = !total && choice === last ? timings : '';
        return sse(chunkJson(ids, object, `"choices":[{"index":${choice},${emptyPart},"finish_reason":"${reason}"}]${usage}${lastTimings}`));
      })
      .join('') +
    (total ? sse(chunkJson(ids, object, `"choices":[],"usage":${JSON.stringify(total)}${timings}`)) : '') +
    sse('[DONE]')
  );
}

const usageJson = (extras: ChunkExtras): string => (extras.usage ? `,"usage":${JSON.stringify(extras.usage)}` : '');

/** OpenAI's chat/completions chunks, SambaNova-style usage at the end, then [DONE]. */
const CHAT: WireFormat = {
  promptField: 'messages (array)',
  promptOf: (body) => (Array.isArray(body.messages) ? body.messages : undefined),
  choices: true,
  canBuffer: true,
  start: (ids, choices) =>
    Array.from({ length: choices }, (_, choice) =>
      sse(chunkJson(ids, 'chat.completion.chunk', `"choices":[{"index":${choice},"delta":{"role":"assistant","content":""},"finish_reason":null}]`)),
    ).join(''),
  chunk: (ids, choice, text, reasoning, extras) =>
    sse(
      chunkJson(
        ids,
        'chat.completion.chunk',
        `"choices":[{"index":${choice},"delta":{"${reasoning ? 'reasoning_content' : 'content'}":${JSON.stringify(text)}},"finish_reason":null${extras.logprobs ? `,"logprobs":${logprobsJson(extras.logprobs)}` : ''}}]${usageJson(extras)}`,
      ),
    ),
  end: (ids, ending) => endOfChoices(ids, 'chat.completion.chunk', '"delta":{}', ending),
};

/** The legacy completions API: choices[].text, then [DONE]. */
const COMPLETIONS: WireFormat = {
  promptField: 'prompt',
  promptOf: (body) => (typeof body.prompt === 'string' || Array.isArray(body.prompt) ? body.prompt : undefined),
  choices: true,
  canBuffer: false,
  start: () => '',
  chunk: (ids, choice, text, _reasoning, extras) =>
    sse(
      chunkJson(
        ids,
        'text_completion',
        `"choices":[{"index":${choice},"text":${JSON.stringify(text)},"finish_reason":null${extras.logprobs ? `,"logprobs":${JSON.stringify({ tokens: extras.logprobs, token_logprobs: extras.logprobs.map(() => -0.5) })}` : ''}}]${usageJson(extras)}`,
      ),
    ),
  end: (ids, ending) => endOfChoices(ids, 'text_completion', '"text":""', ending),
};

/** OpenAI's Responses API: typed events, usage in response.completed, no [DONE]. */
const RESPONSES: WireFormat = {
  promptField: 'input',
  promptOf: (body) => (typeof body.input === 'string' || Array.isArray(body.input) ? body.input : undefined),
  choices: false,
  canBuffer: false,
  start: (ids) =>
    sse(JSON.stringify({ type: 'response.created', response: { id: ids.id, object: 'response', created_at: ids.created, model: ids.model, status: 'in_progress' } }), 'response.created'),
  chunk: (_ids, _choice, text, reasoning, extras) => {
    const type = reasoning ? 'response.reasoning_text.delta' : 'response.output_text.delta';
    const logprobs = extras.logprobs ? `,"logprobs":${JSON.stringify(extras.logprobs.map((token) => ({ token, logprob: -0.5, top_logprobs: [] })))}` : '';
    return sse(`{"type":"${type}","item_id":"msg_0","output_index":0,"content_index":0,"delta":${JSON.stringify(text)}${logprobs}}`, type);
  },
  end: (ids, { finishReasons, usage }) => {
    const status = finishReasons[0] === 'length' ? 'incomplete' : 'completed';
    const responsesUsage = usage && {
      ...usage,
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
    };
    const type = `response.${status}`;
    return sse(JSON.stringify({ type, response: { id: ids.id, object: 'response', created_at: ids.created, model: ids.model, status, usage: responsesUsage ?? null } }), type);
  },
};

/** Anthropic's Messages API: typed events, input tokens at message_start, output tokens at message_delta. */
const MESSAGES: WireFormat = {
  promptField: 'messages (array)',
  promptOf: (body) => (Array.isArray(body.messages) ? body.messages : undefined),
  choices: false,
  canBuffer: false,
  start: (ids) =>
    sse(
      JSON.stringify({
        type: 'message_start',
        message: { id: ids.id, type: 'message', role: 'assistant', model: ids.model, content: [], stop_reason: null, usage: { input_tokens: 0, output_tokens: 1 } },
      }),
      'message_start',
    ) + sse('{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}', 'content_block_start'),
  chunk: (_ids, _choice, text, reasoning) =>
    sse(
      `{"type":"content_block_delta","index":0,"delta":${reasoning ? `{"type":"thinking_delta","thinking":${JSON.stringify(text)}}` : `{"type":"text_delta","text":${JSON.stringify(text)}}`}}`,
      'content_block_delta',
    ),
  end: (_ids, { finishReasons, usage }) =>
    sse('{"type":"content_block_stop","index":0}', 'content_block_stop') +
    sse(
      JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: finishReasons[0] === 'length' ? 'max_tokens' : 'end_turn' },
        usage: usage ? { ...usage, input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens } : { output_tokens: 0 },
      }),
      'message_delta',
    ) +
    sse('{"type":"message_stop"}', 'message_stop'),
};

const WIRE_FORMATS: Record<string, WireFormat> = {
  '/v1/messages': MESSAGES,
  '/v1/chat/completions': CHAT,
  '/v1/completions': COMPLETIONS,
  '/v1/responses': RESPONSES,
};

function serveCompletion(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  wire: WireFormat,
  body: ChatBody,
  profile: SimModelProfile,
  plans: CompletionPlan[],
  record: SimRequestTruth,
  slots: DecodeSlots,
  requestNumber: number,
  keepTruth: boolean,
  prompt: { messages: SimMessage[] | undefined; cache?: PrefixCache },
): void {
  const id = `chatcmpl-sim-${requestNumber}`;
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = body.stream_options?.include_usage === true;
  const msPerToken = 1000 / profile.tokensPerSecond;
  const promptTokens = plans[0]!.promptTokens;
  const firstTokens = plans.reduce((sum, plan) => sum + (plan.chunkTokens[0] ?? 0), 0);
  let timer: NodeJS.Timeout | undefined;
  /** The second final event's timer (`afterDone: repeatDone`): it outlives the decode slot. */
  let repeatTimer: NodeJS.Timeout | undefined;
  let admitted = false;
  let done = false;
  /** Prompt tokens the prefix cache held when the request was admitted. */
  let cachedTokens = 0;
  /** The prompt as the prefix cache admitted it, for its answer to follow it there. */
  let admittedPrompt: AdmittedPrompt | undefined;

  const finish = (): void => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    if (admitted) slots.release();
  };
  res.on('close', () => {
    if (!record.finished) cancel();
    clearTimeout(repeatTimer);
    finish();
  });

  const usage = (firstAt: number, endAt: number): Record<string, unknown> => {
    const completionTokens = plans.reduce((sum, plan) => sum + plan.chunkTokens.reduce((s, k) => s + k, 0), 0);
    const reported = completionTokens + profile.usageExtraTokens;
    record.completionTokens = completionTokens;
    record.usageCompletionTokens = reported;
    const totalSeconds = (endAt - record.receivedAt) / 1000;
    const afterFirstSeconds = (endAt - firstAt) / 1000;
    // SambaNova-style server timings ride in the usage block.
    return {
      prompt_tokens: promptTokens,
      completion_tokens: reported,
      total_tokens: promptTokens + reported,
      ...(prompt.cache ? { prompt_tokens_details: { cached_tokens: cachedTokens } } : {}),
      time_to_first_token: (firstAt - record.receivedAt) / 1000,
      total_latency: totalSeconds,
      completion_tokens_after_first_per_sec: afterFirstSeconds > 0 ? (reported - firstTokens) / afterFirstSeconds : 0,
      completion_tokens_per_sec: totalSeconds > 0 ? reported / totalSeconds : 0,
      total_tokens_per_sec: totalSeconds > 0 ? (promptTokens + reported) / totalSeconds : 0,
      is_last_response: true,
    };
  };

  // Decoded, the answer is in the cache too (as vLLM keeps the blocks it generated): a session's next turn,
  // whose history carries it, finds it there.
  const rememberAnswer = (): void => {
    if (!prompt.cache || !admittedPrompt) return;
    const plan = plans[0]!;
    const answer = plan.chunkTexts.filter((_, i) => !plan.chunkReasoning[i]).join('');
    prompt.cache.rememberAnswer(admittedPrompt, { role: 'assistant', content: answer });
  };

  const cancel = slots.acquire(() => {
    admitted = true;
    const admittedAt = performance.now();
    record.admittedAt = admittedAt;
    // Prefill happens now: what the cache holds of the prompt costs nothing, the rest its tokens at the prefill rate.
    if (prompt.cache && prompt.messages) {
      admittedPrompt = prompt.cache.admit(prompt.messages);
      cachedTokens = Math.min(promptTokens, admittedPrompt.cachedTokens);
      record.cachedPromptTokens = cachedTokens;
    }
    const prefillMs = profile.prefillTokensPerSecond ? ((promptTokens - cachedTokens) / profile.prefillTokensPerSecond) * 1000 : 0;
    const firstAt = admittedAt + profile.ttftMs + prefillMs;
    // Every choice decodes in parallel. Chunk i of a choice is due when its last token is:
    // the first at TTFT, then one token per msPerToken.
    const schedule: { due: number; choice: number; chunk: number }[] = [];
    plans.forEach((plan, choice) => {
      let tokensAfterFirst = 0;
      plan.chunkTokens.forEach((tokens, chunk) => {
        if (chunk > 0) tokensAfterFirst += tokens;
        schedule.push({ due: firstAt + tokensAfterFirst * msPerToken, choice, chunk });
      });
    });
    schedule.sort((a, b) => a.due - b.due || a.choice - b.choice);

    if (record.stream) {
      const ids: WireIds = { id, created, model: record.model };
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(wire.start(ids, plans.length));
      let next = 0;
      let sentTokens = 0;
      let firstWriteAt: number | undefined;
      // Chat asks with logprobs: true; legacy completions with a number (of alternatives, 0 included).
      const quirks = new Set(profile.quirks ?? []);
      const wantLogprobs = body.logprobs === true || typeof body.logprobs === 'number' || body.top_logprobs !== undefined;
      const continuousUsage = body.stream_options?.continuous_usage_stats === true;
      // Responses and Messages always report usage; chat and completions only when asked.
      const wantUsage = includeUsage || wire === RESPONSES || wire === MESSAGES;
      const writeDue = (): void => {
        timer = undefined;
        const now = performance.now();
        // Several chunks may be due at once when the timer fired late: send each in its own event.
        while (next < schedule.length && schedule[next]!.due <= now + 0.5) {
          const { choice, chunk } = schedule[next]!;
          const plan = plans[choice]!;
          const text = plan.chunkTexts[chunk]!;
          sentTokens += plan.chunkTokens[chunk]!;
          const extras: ChunkExtras = {};
          // llama.cpp: one entry per event, even for an event that flushes several held-back tokens.
          if (wantLogprobs) extras.logprobs = quirks.has('one-logprob-per-event') ? [plan.chunkTexts[chunk]!] : plan.tokenTexts[chunk]!;
          if (continuousUsage) extras.usage = { prompt_tokens: promptTokens, completion_tokens: sentTokens, total_tokens: promptTokens + sentTokens };
          const writeAt = performance.now();
          // A server reports its own first-token time as it happened, late timer and all.
          firstWriteAt ??= writeAt;
          if (keepTruth) {
            record.chunks.push({ at: writeAt, tokens: plan.chunkTokens[chunk]!, text, reasoning: plan.chunkReasoning[chunk]!, choice });
          }
          res.write(wire.chunk(ids, choice, text, plan.chunkReasoning[chunk]!, extras));
          next++;
        }
        if (next < schedule.length) {
          timer = setTimeout(writeDue, Math.max(0, schedule[next]!.due - performance.now()));
          return;
        }
        const endAt = performance.now();
        const total = wantUsage ? usage(firstWriteAt ?? firstAt, endAt) : undefined;
        const ending: WireEnding = { finishReasons: plans.map((plan) => plan.finishReason), usage: total };
        // llama.cpp with n > 1: each choice's finish chunk carries that choice's usage, and no total follows.
        if (total && quirks.has('usage-per-choice') && wire.choices) {
          ending.usagePerChoice = plans.map((plan) => {
            const completion = plan.chunkTokens.reduce((s, k) => s + k, 0);
            return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
          });
        }
        if (quirks.has('llamacpp-timings')) {
          const predicted = plans.reduce((sum, plan) => sum + plan.chunkTokens.reduce((s, k) => s + k, 0), 0);
          const predictedMs = endAt - (firstWriteAt ?? firstAt);
          // llama-server's names (tools/server/server.cpp, result_timings::to_json), in ms.
          ending.timings = {
            prompt_n: promptTokens,
            prompt_ms: (firstWriteAt ?? firstAt) - admittedAt,
            predicted_n: predicted,
            predicted_ms: predictedMs,
            predicted_per_token_ms: predicted > 0 ? predictedMs / predicted : 0,
          };
        }
        const tail = wire.end(ids, ending);
        rememberAnswer();
        record.finished = true;
        record.finalEventsAt.push(performance.now());
        const afterDone = profile.afterDone ?? 'close';
        if (afterDone === 'close') res.end(tail);
        else res.write(tail);
        if (afterDone === 'repeatDone') {
          repeatTimer = setTimeout(() => {
            record.finalEventsAt.push(performance.now());
            res.end(lastEventOf(tail));
          }, REPEAT_DONE_MS);
        }
        finish();
      };
      timer = setTimeout(writeDue, Math.max(0, (schedule[0]?.due ?? firstAt) - performance.now()));
    } else {
      const lastDue = schedule.at(-1)?.due ?? firstAt;
      timer = setTimeout(() => {
        const choices = plans.map((plan, choice) => {
          const text = plan.chunkTexts.filter((_, i) => !plan.chunkReasoning[i]).join('');
          const reasoning = plan.chunkTexts.filter((_, i) => plan.chunkReasoning[i]).join('');
          const tokens = plan.chunkTokens.reduce((s, k) => s + k, 0);
          record.chunks.push({ at: performance.now(), tokens, text: reasoning + text, reasoning: false, choice });
          return {
            index: choice,
            message: { role: 'assistant', content: text, ...(reasoning ? { reasoning_content: reasoning } : {}) },
            finish_reason: plan.finishReason,
          };
        });
        rememberAnswer();
        record.finished = true;
        sendJson(res, 200, { id, object: 'chat.completion', created, model: record.model, choices, usage: usage(firstAt, performance.now()) });
        finish();
      }, Math.max(0, lastDue - performance.now()));
    }
  });
  req.on('error', () => undefined);
}

/** The last event of a run of SSE events: the final one of a response's end. */
function lastEventOf(events: string): string {
  return events.slice(events.lastIndexOf('\n\n', events.length - 3) + 2);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function readJson(req: http.IncomingMessage): Promise<ChatBody | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
        resolve(parsed && typeof parsed === 'object' ? (parsed as ChatBody) : undefined);
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { error: { message, type, code: status } });
}
