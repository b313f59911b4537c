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
import { draw, seededRandom, type Random } from './random.js';
import { SIM_WORDS } from './words.js';

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
}

export interface SimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Keep a SimRequestTruth per request (tests); off by default to bound memory. */
  keepTruth?: boolean;
}

export interface RunningSimulator {
  /** Base URL for an OpenAI client, ending in /v1. */
  baseURL: string;
  port: number;
  /** Requests in arrival order (empty unless keepTruth). */
  truth: SimRequestTruth[];
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
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  n?: unknown;
}

export async function startSimulator(config: SimConfig, options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const truth: SimRequestTruth[] = [];
  const slotsByModel = new Map<string, DecodeSlots>();
  let requestCount = 0;

  const slotsFor = (model: string, profile: SimModelProfile): DecodeSlots => {
    let slots = slotsByModel.get(model);
    if (!slots) slotsByModel.set(model, (slots = new DecodeSlots(profile.capacity)));
    return slots;
  };

  const server = http.createServer((req, res) => {
    const arrivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401, 'invalid_api_key', 'Incorrect API key provided.');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const names = Object.keys(config.models);
      return sendJson(res, 200, {
        object: 'list',
        data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tokenmeter-sim' })),
      });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      readJson(req).then(
        (body) => {
          const receivedAt = arrivedAt;
          if (body === undefined || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
            return sendError(res, 400, 'invalid_request_error', 'model (string) and messages (array) are required');
          }
          const requestNumber = requestCount++;
          const profile = profileFor(config, body.model);
          const record: SimRequestTruth = {
            model: body.model,
            stream: body.stream === true,
            receivedAt,
            chunks: [],
            completionTokens: 0,
            usageCompletionTokens: 0,
            finished: false,
          };
          const requestId = req.headers['x-tokenmeter-request-id'];
          if (typeof requestId === 'string') record.requestId = requestId;
          if (options.keepTruth) truth.push(record);
          const random = seededRandom((config.seed * 1_000_003 + requestNumber) >>> 0);
          const choices = positiveInteger(body.n) ?? 1;
          if (choices > 8) return sendError(res, 400, 'invalid_request_error', 'n must be between 1 and 8');
          const plans = Array.from({ length: choices }, () => planCompletion(body, profile, random));
          serveCompletion(req, res, body, profile, plans, record, slotsFor(body.model, profile), requestNumber, options.keepTruth === true);
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
  const maxTokens = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens);
  const wanted = Math.max(1, draw(profile.outputTokens, random));
  const total = maxTokens === undefined ? wanted : Math.min(wanted, maxTokens);
  const wordsPerToken = profile.wordsPerToken ?? 1;
  const reasoningTotal = Math.min(draw(profile.reasoningTokens ?? 0, random), total - 1);
  const chunkTokens: number[] = [];
  const tokenTexts: string[][] = [];
  const chunkReasoning: boolean[] = [];
  for (let sent = 0; sent < total; ) {
    const reasoning = sent < reasoningTotal;
    // A chunk is all reasoning or all answer, so the truth of each is exact.
    const limit = reasoning ? reasoningTotal - sent : total - sent;
    const tokens = Math.min(Math.max(1, draw(profile.tokensPerChunk, random)), limit);
    chunkReasoning.push(reasoning);
    const texts: string[] = [];
    for (let i = 0; i < tokens; i++) {
      let text = '';
      for (let w = 0; w < wordsPerToken; w++) text += ' ' + SIM_WORDS[Math.floor(random() * SIM_WORDS.length)];
      texts.push(text);
    }
    chunkTokens.push(tokens);
    tokenTexts.push(texts);
    sent += tokens;
  }
  return {
    chunkTokens,
    tokenTexts,
    chunkTexts: tokenTexts.map((texts) => texts.join('')),
    chunkReasoning,
    finishReason: maxTokens !== undefined && wanted > maxTokens ? 'length' : 'stop',
    promptTokens: estimatePromptTokens(body.messages as unknown[]),
  };
}

/** An approximation (words plus a per-message template overhead): the simulator has no tokenizer. */
function estimatePromptTokens(messages: unknown[]): number {
  let tokens = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown })?.content;
    const text = typeof content === 'string' ? content : JSON.stringify(content ?? '');
    tokens += 4 + (text.match(/\S+/g)?.length ?? 0);
  }
  return tokens;
}

function serveCompletion(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: ChatBody,
  profile: SimModelProfile,
  plans: CompletionPlan[],
  record: SimRequestTruth,
  slots: DecodeSlots,
  requestNumber: number,
  keepTruth: boolean,
): void {
  const id = `chatcmpl-sim-${requestNumber}`;
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = body.stream_options?.include_usage === true;
  const msPerToken = 1000 / profile.tokensPerSecond;
  const promptTokens = plans[0]!.promptTokens;
  const firstTokens = plans.reduce((sum, plan) => sum + plan.chunkTokens[0]!, 0);
  let timer: NodeJS.Timeout | undefined;
  let admitted = false;
  let done = false;

  const finish = (): void => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    if (admitted) slots.release();
  };
  res.on('close', () => {
    if (!record.finished) cancel();
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
      time_to_first_token: (firstAt - record.receivedAt) / 1000,
      total_latency: totalSeconds,
      completion_tokens_after_first_per_sec: afterFirstSeconds > 0 ? (reported - firstTokens) / afterFirstSeconds : 0,
      completion_tokens_per_sec: totalSeconds > 0 ? reported / totalSeconds : 0,
      total_tokens_per_sec: totalSeconds > 0 ? (promptTokens + reported) / totalSeconds : 0,
      is_last_response: true,
    };
  };

  const cancel = slots.acquire(() => {
    admitted = true;
    const admittedAt = performance.now();
    record.admittedAt = admittedAt;
    const firstAt = admittedAt + profile.ttftMs;
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
      const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(record.model)},"choices":[{"index":`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(plans.map((_, choice) => `${head}${choice},"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`).join(''));
      let next = 0;
      let sentTokens = 0;
      const wantLogprobs = body.logprobs === true;
      const continuousUsage = body.stream_options?.continuous_usage_stats === true;
      const writeDue = (): void => {
        timer = undefined;
        const now = performance.now();
        // Several chunks may be due at once when the timer fired late: send each in its own event.
        while (next < schedule.length && schedule[next]!.due <= now + 0.5) {
          const { choice, chunk } = schedule[next]!;
          const plan = plans[choice]!;
          const text = plan.chunkTexts[chunk]!;
          sentTokens += plan.chunkTokens[chunk]!;
          let extra = '';
          if (wantLogprobs) {
            const entries = plan.tokenTexts[chunk]!.map((token) => ({ token, logprob: -0.5, bytes: null, top_logprobs: [] }));
            extra += `,"logprobs":{"content":${JSON.stringify(entries)}}`;
          }
          const usageNow = continuousUsage
            ? `,"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${sentTokens},"total_tokens":${promptTokens + sentTokens}}`
            : '';
          const field = plan.chunkReasoning[chunk] ? 'reasoning_content' : 'content';
          if (keepTruth) {
            record.chunks.push({ at: performance.now(), tokens: plan.chunkTokens[chunk]!, text, reasoning: plan.chunkReasoning[chunk]!, choice });
          }
          res.write(`${head}${choice},"delta":{"${field}":${JSON.stringify(text)}},"finish_reason":null${extra}}]${usageNow}}\n\n`);
          next++;
        }
        if (next < schedule.length) {
          timer = setTimeout(writeDue, Math.max(0, schedule[next]!.due - performance.now()));
          return;
        }
        const endAt = performance.now();
        let tail = plans.map((plan, choice) => `${head}${choice},"delta":{},"finish_reason":"${plan.finishReason}"}]}\n\n`).join('');
        if (includeUsage) {
          tail += `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(record.model)},"choices":[],"usage":${JSON.stringify(usage(firstAt, endAt))}}\n\n`;
        }
        tail += 'data: [DONE]\n\n';
        record.finished = true;
        res.end(tail);
        finish();
      };
      timer = setTimeout(writeDue, Math.max(0, schedule[0]!.due - performance.now()));
    } else {
      const lastDue = schedule[schedule.length - 1]!.due;
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
        record.finished = true;
        sendJson(res, 200, { id, object: 'chat.completion', created, model: record.model, choices, usage: usage(firstAt, performance.now()) });
        finish();
      }, Math.max(0, lastDue - performance.now()));
    }
  });
  req.on('error', () => undefined);
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
