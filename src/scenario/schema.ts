/**
 * The scenario file's schema: the one source of truth for validation and for
 * the JSON Schema editors use (`npm run schema` writes schema/scenario.schema.json).
 * Only shape and ranges here; defaults and conversions live in normalize.ts.
 */
import { z } from 'zod';
import {
  API_NAMES,
  ARRIVAL_NAMES,
  CHAT_ROLES,
  DATASET_FORMATS,
  DEFAULT_SWEEP_MAX_CONCURRENCY,
  DEFAULT_SWEEP_RATES,
  MAX_WORKERS,
  PROVIDER_NAMES,
  SERVER_TOKENIZER,
  SHARED_PREFIX_PLACES,
  SIM_QUIRKS,
  TOKENIZER_NAMES,
} from '../types.js';
import { DURATION_PATTERN, durationMs } from '../util/duration.js';
import { parseSloKey } from './slo.js';
import { parseThreshold, ThresholdSyntaxError } from './thresholds.js';

const positiveInteger = z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');

/**
 * What one tokenmeter process can hold (issue 13): past these a value does not
 * measure anything, it crashes the process (measured: concurrency 10⁹ and a
 * synthetic prompt of 10⁹ tokens ran V8 out of heap; a 600 h timeout overflows
 * Node's timers, which then fire at once). The limits are per process.
 */
export const LIMITS = {
  /** Node's timers wait at most 2³¹−1 ms (24.8 days). */
  durationMs: 2 ** 31 - 1,
  /** Streams (closed loop) or requests in flight (open loop): each holds a socket, its buffers and its records. */
  inFlight: 100_000,
  /** Load worker threads: more than a machine has cores only share them. */
  workers: MAX_WORKERS,
  /** Arrivals per second one event loop can send. */
  ratePerS: 100_000,
  /** Measured requests per cell: a cell's records stay in memory until its tokens are counted (~1–2 KB each). */
  requestsPerCell: 1_000_000,
  /** Tokens of one synthetic prompt or answer: past the longest context windows, and built in memory. */
  tokens: 2_000_000,
  /** Rates of one sweep, per model: each is a cell of its own. */
  sweepRates: 1000,
  /** A scenario name becomes part of its results folder's name, which filesystems cap at 255 bytes. */
  nameChars: 100,
} as const;

/**
 * What one process measures well, with `load.allowLargeLoad: true` to go past
 * it up to LIMITS: an event costs about 4 µs of one core (docs/performance.md),
 * so 10,000 streams at 25 chunks/s fill it and the client's own lateness voids
 * the cells. Past it, split the load over shards.
 */
export const SOFT_LIMITS = {
  inFlight: 10_000,
  ratePerS: 10_000,
} as const;

/**
 * Levels past the soft limits for `readers` threads reading the load (shards
 * × workers): each holds its share, so the limits are per reader. A problem
 * per level (its path, and what to do), none with `load.allowLargeLoad`.
 */
export function softLimitProblems(
  load: Pick<z.output<typeof loadSchema>, 'concurrency' | 'rate' | 'maxInFlight' | 'allowLargeLoad'>,
  readers: number,
): { path: (string | number)[]; message: string }[] {
  if (load.allowLargeLoad) return [];
  const problems: { path: (string | number)[]; message: string }[] = [];
  const check = (list: number | number[] | { from: number; to: number } | undefined, limit: number, what: string, key: string) => {
    const entries: [(string | number)[], number][] =
      list === undefined
        ? []
        : typeof list === 'number'
          ? [[[key], list]]
          : Array.isArray(list)
            ? list.map((value, index) => [[key, index], value])
            : [[[key, 'from'], list.from], [[key, 'to'], list.to]];
    for (const [path, value] of entries) {
      if (value <= limit * readers) continue;
      const over = readers === 1 ? 'one thread measures' : `${readers} threads (shards × workers) measure`;
      problems.push({
        path,
        message: `${value.toLocaleString('en-US')} is more ${what} than ${over} well (${limit.toLocaleString('en-US')} each); split it over shards (--shard) or workers (--workers), or set load.allowLargeLoad: true`,
      });
    }
  };
  check(load.concurrency, SOFT_LIMITS.inFlight, 'streams', 'concurrency');
  check(load.rate, SOFT_LIMITS.ratePerS, 'arrivals per second', 'rate');
  check(load.maxInFlight, SOFT_LIMITS.inFlight, 'requests in flight', 'maxInFlight');
  return problems;
}

/** A bound that the JSON Schema carries too (`maximum`), with the reason in the message. */
const atMost = (schema: z.ZodNumber, max: number, why: string) => schema.max(max, `must be at most ${max.toLocaleString('en-US')} (${why})`);
const nonNegativeInteger = z.number({ error: 'must be a non-negative integer' }).int('must be a non-negative integer').min(0, 'must be a non-negative integer');
const positiveNumber = z.number({ error: 'must be a positive number' }).positive('must be a positive number');

const isDuration = (value: unknown): value is string | number =>
  (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && DURATION_PATTERN.test(value));

/** "250ms", "30s", "5m", or a number of seconds. */
export const durationSchema = z
  .union(
    [
      positiveNumber,
      z
        .string()
        .regex(DURATION_PATTERN, 'must be a duration such as "500ms", "30s" or "5m"')
        .refine((text) => Number.parseFloat(text) > 0, 'must be longer than zero'),
    ],
    {
      error: 'must be a duration such as "500ms", "30s" or "5m", or a number of seconds',
    },
  )
  // Zod runs this even when the union failed: a value that is no duration was reported there already.
  .refine((value) => !isDuration(value) || durationMs(value) <= LIMITS.durationMs, "must be at most 24 days (Node's timers cannot wait longer)")
  .describe('A duration: "500ms", "30s", "5m", "1h", or a number of seconds.');

/** A simulated count of tokens: the simulator builds its answers in memory. */
const simulatedTokens = atMost(positiveInteger, LIMITS.tokens, 'tokens the simulator builds in memory');

const countOrRange = (what: string) =>
  z
    .union([simulatedTokens, z.tuple([simulatedTokens, simulatedTokens])], {
      error: `must be a positive integer or a [min, max] pair of positive integers (${what})`,
    })
    .refine((value) => typeof value === 'number' || value[0] <= value[1], 'min must not exceed max');

export const simProfileSchema = z
  .strictObject({
    ttftMs: z.number().min(0, 'must be >= 0').optional().describe('Time to first token on an idle server, ms.'),
    tokensPerSecond: positiveNumber.optional().describe('Decode speed of one stream, tokens/s.'),
    prefillTokensPerSecond: positiveNumber
      .optional()
      .describe("Prompt processing speed, tokens/s: the first token comes ttftMs + the request's uncached prompt tokens / this after admission (unset: prompts cost nothing)."),
    prefixCache: z
      .boolean()
      .optional()
      .describe(
        'Remember the message-list prefixes served: leading messages seen before count as cached (usage.prompt_tokens_details.cached_tokens) and cost no prefill (default false).',
      ),
    tokensPerChunk: countOrRange('tokens per SSE chunk').optional().describe('Tokens per chunk: n or [min, max].'),
    outputTokens: countOrRange('output tokens').optional().describe('Output length in tokens: n or [min, max].'),
    capacity: positiveInteger.optional().describe('Streams decoded at full speed at once; more wait in a queue.'),
    usageExtraTokens: nonNegativeInteger.optional().describe('Tokens usage reports beyond those streamed (a stop token).'),
    reasoningTokens: z
      .union([nonNegativeInteger, z.tuple([nonNegativeInteger, nonNegativeInteger])], {
        error: 'must be a non-negative integer or a [min, max] pair of them',
      })
      .optional()
      .describe('Reasoning tokens streamed as delta.reasoning_content before the answer (default 0).'),
    wordsPerToken: positiveInteger
      .optional()
      .describe('Words per server token (default 1); at 2 no public tokenizer counts its tokens: only logprobs, continuous usage or its tokenize endpoint (tokenizer: server) can.'),
    afterDone: z
      .enum(['close', 'keepOpen', 'repeatDone'])
      .optional()
      .describe('After the final event: close (end the response, the default), keepOpen (leave it open), repeatDone (send it again 300 ms later).'),
    staleKeepAlive: z
      .boolean()
      .optional()
      .describe('Each connection serves one request while advertising keep-alive: a request on a reused connection is dropped unanswered (as llama.cpp looks).'),
    quirks: z
      .array(z.enum(SIM_QUIRKS))
      .optional()
      .describe(`Real servers' token-count behaviours to reproduce: ${SIM_QUIRKS.join(', ')}.`),
    emptyStream: z.boolean().optional().describe('Answer with no output at all: the start, then the end and the final event.'),
  })
  .describe('Built-in simulator profile for a model.');

export const simulatorSchema = z
  .strictObject({
    seed: z.number().int('must be an integer').optional(),
    defaults: simProfileSchema.optional(),
    models: z.record(z.string(), simProfileSchema).optional(),
  })
  .describe('Settings of the built-in simulator (baseURL: builtin).');

const TOKENIZER_CHOICES =
  'must be one of llama3, o200k, cl100k, server, the path of a Hugging Face tokenizer.json or of a GGUF model file, or hf:ORG/NAME (from the local Hugging Face cache)';

/** A tokenizer file (tokenizer.json or .gguf) or a cached Hugging Face model (hf:ORG/NAME). */
export const TOKENIZER_FILE_PATTERN = /\.(json|gguf)$/;
export const HF_TOKENIZER_PATTERN = /^hf:[\w.-]+\/[\w.-]+$/;

export const tokenizerSchema = z
  .union(
    [
      z.enum(TOKENIZER_NAMES),
      z.literal(SERVER_TOKENIZER),
      z.string().regex(TOKENIZER_FILE_PATTERN, TOKENIZER_CHOICES),
      z.string().regex(HF_TOKENIZER_PATTERN, TOKENIZER_CHOICES),
    ],
    { error: TOKENIZER_CHOICES },
  )
  .describe(
    "llama3, o200k, cl100k, server (the server's own tokenize endpoint, vLLM or llama.cpp, asked after each cell), " +
      'a path to a Hugging Face tokenizer.json or to a GGUF model file (relative to the scenario file), ' +
      'or hf:ORG/NAME: the tokenizer.json of ORG/NAME in the local Hugging Face cache (never downloaded).',
  );

const paramsSchema = z
  .record(z.string(), z.unknown())
  .refine((params) => params.n === undefined || (Number.isInteger(params.n) && (params.n as number) >= 1 && (params.n as number) <= 8), {
    message: 'must be an integer from 1 to 8',
    path: ['n'],
  })
  .describe('Request body parameters, passed through as written.');

const messageSchema = z.strictObject({
  role: z.enum(CHAT_ROLES, { error: `must be one of ${CHAT_ROLES.join(', ')}` }),
  content: z.string({ error: 'must be a string' }),
});

/** A level list, or one level. */
const levels = <T extends z.ZodType<number>>(level: T, what: string) =>
  z.union(
    [
      level,
      z
        .array(level)
        .min(1, 'must list at least one level')
        .refine((list) => new Set(list).size === list.length, 'must not list a level twice'),
    ],
    { error: `must be ${what} or a list of them` },
  );

const ratePerS = atMost(positiveNumber, LIMITS.ratePerS, 'arrivals per second one process sends');

/** `load.rate: {from, to, over}`: one cell whose rate changes linearly. */
const rampSchema = z
  .strictObject({
    from: ratePerS.describe('Arrivals per second at the start.'),
    to: ratePerS.describe('Arrivals per second at the end.'),
    over: durationSchema.describe("The ramp's length: its end ends the cell (requests or duration may end it sooner)."),
  })
  .describe('A rate ramp: the rate changes linearly from `from` to `to` over `over`, one cell per model.');

/** `load.trace`: a trace file replayed at its own times. */
const traceSchema = z
  .union(
    [
      z.string().min(1, 'must not be empty'),
      z.strictObject({
        file: z.string().min(1, 'must not be empty').describe('The trace, relative to the scenario.'),
        speedup: levels(atMost(positiveNumber, 1_000_000, 'a trace replayed faster is a burst'), 'a positive number')
          .optional()
          .describe('Replay this many times faster than recorded (default 1); a list is one cell per model and speed-up.'),
      }),
    ],
    { error: 'must be a trace file, or {file, speedup?}' },
  )
  .describe(
    'Open loop: replay a JSONL trace at its own times, one cell per model (and speed-up). Each line is {timestamp, input_tokens, output_tokens} ' +
      '(a synthetic prompt and output of exactly those lengths) or {timestamp, messages, max_tokens?}; timestamp in seconds from the trace\'s start. ' +
      'Replaces concurrency or rate, and the scenario\'s prompts.',
  );

const warmupDuration = z
  .string()
  .regex(DURATION_PATTERN, 'must be a count of requests or a duration such as "5s"');

/** A think time's duration: "0s" allowed (a uniform draw may start at zero). */
const thinkDuration = z
  .union([z.number().min(0, 'must be >= 0'), z.string().regex(DURATION_PATTERN, 'must be a duration such as "500ms" or "2s"')], {
    error: 'must be a duration such as "500ms" or "2s", or a number of seconds',
  })
  .refine((value) => !isDuration(value) || durationMs(value) <= LIMITS.durationMs, "must be at most 24 days (Node's timers cannot wait longer)");

/** Most turns of one session: each turn's request carries the whole history, held in memory. */
const MAX_TURNS = 10_000;

const thinkTimeSchema = z
  .union(
    [
      thinkDuration,
      z.discriminatedUnion(
        'distribution',
        [
          z.strictObject({ distribution: z.literal('fixed'), value: thinkDuration }),
          z
            .strictObject({ distribution: z.literal('uniform'), min: thinkDuration, max: thinkDuration })
            .refine((d) => durationMs(d.min) <= durationMs(d.max), 'min must not exceed max'),
          z.strictObject({ distribution: z.literal('exponential'), mean: thinkDuration }),
        ],
        { error: 'distribution must be one of fixed (value), uniform (min, max) or exponential (mean)' },
      ),
    ],
    { error: 'must be a duration such as "2s", or {distribution: fixed|uniform|exponential, ...} in durations' },
  )
  .describe(
    "Multi-turn sessions: the wait between a turn's answer and the session's next turn, e.g. \"2s\", or {distribution: uniform, min: 1s, max: 3s}, {distribution: exponential, mean: 2s} (drawn from the scenario's seed). It counts as in flight.",
  );

const loadSchema = z
  .strictObject({
    concurrency: levels(atMost(positiveInteger, LIMITS.inFlight, 'streams one process holds'), 'a positive integer')
      .optional()
      .describe('Closed loop: requests in flight; a list is a sweep, one cell per model and level.'),
    rate: z
      .union([levels(ratePerS, 'a positive number'), rampSchema], { error: 'must be a positive number, a list of them, or a ramp {from, to, over}' })
      .optional()
      .describe('Open loop: arrivals per second; a list is a sweep, one cell per model and rate; {from, to, over} is a ramp, one cell per model.'),
    trace: traceSchema.optional(),
    arrival: z
      .enum(ARRIVAL_NAMES, { error: `must be one of ${ARRIVAL_NAMES.join(', ')}` })
      .optional()
      .describe('Open loop: constant (arrival i at start + i/rate), poisson (seeded) or gamma (seeded, with burstiness); default constant.'),
    burstiness: positiveNumber
      .optional()
      .describe('Gamma arrivals: the gaps\' shape B; their coefficient of variation is 1/√B (1 is Poisson, below 1 burstier, above 1 more regular). Default 1.'),
    maxInFlight: atMost(positiveInteger, LIMITS.inFlight, 'requests one process holds in flight')
      .optional()
      .describe('Open loop: most requests in flight; an arrival that finds it full is recorded as dropped (default 1000).'),
    requests: atMost(positiveInteger, LIMITS.requestsPerCell, "a cell's records are held in memory")
      .optional()
      .describe('Measured requests (arrivals) per cell.'),
    duration: durationSchema.optional().describe('Measured time per cell; with requests, whichever ends first.'),
    warmup: z
      .union([nonNegativeInteger, warmupDuration], { error: 'must be a count of requests or a duration such as "5s"' })
      .optional()
      .describe('Warm-up per cell, excluded from every metric: a count, or a duration such as "5s". Closed loop: at least one per slot; open loop: at least one, 1s by default (a ramp or a trace: its first arrival, no default time).'),
    maxScheduleLag: durationSchema
      .optional()
      .describe('A cell whose p99 schedule lag exceeds this is marked invalid: the client was the bottleneck (default 10ms).'),
    maxClientLag: durationSchema
      .optional()
      .describe(
        "A cell whose client event-loop delay p99 exceeds this is marked invalid: the client, not the server, was the bottleneck (default 10ms).",
      ),
    maxStartOffset: durationSchema
      .optional()
      .describe(
        'Sharded runs (run --shard): a shard that starts a cell later than this after its scheduled start marks its part of the cell invalid (default 1s).',
      ),
    maxClientUtilization: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        "A cell whose client event-loop utilization reaches this is marked invalid (default 0.95); 1 turns the check off, e.g. when a test server shares the client's thread.",
      ),
    workers: atMost(positiveInteger, LIMITS.workers, 'threads one process runs')
      .optional()
      .describe(
        'Threads that send and read the load, each with its share of every cell (--workers wins); 1 sends from the main thread. Default: one per available core minus one, at least one.',
      ),
    thinkTime: thinkTimeSchema.optional(),
    allowLargeLoad: z
      .boolean()
      .optional()
      .describe(`Allow more than ${SOFT_LIMITS.inFlight.toLocaleString('en-US')} streams in flight or ${SOFT_LIMITS.ratePerS.toLocaleString('en-US')} arrivals/s in one process (default false).`),
  })
  .superRefine((load, context) => {
    if ([load.concurrency, load.rate, load.trace].filter((kind) => kind !== undefined).length !== 1) {
      context.addIssue({ code: 'custom', message: 'must set exactly one of concurrency (closed loop), rate or trace (open loop)', path: [] });
    }
    // A ramp and a trace end on their own; a list of rates or concurrencies needs a bound.
    const bounded = load.trace !== undefined || (typeof load.rate === 'object' && !Array.isArray(load.rate));
    if (!bounded && load.requests === undefined && load.duration === undefined) {
      context.addIssue({ code: 'custom', message: 'must set requests, duration, or both', path: [] });
    }
    if (load.arrival !== undefined && load.trace !== undefined) {
      context.addIssue({ code: 'custom', message: 'does not apply to a trace, which has its own arrival times', path: ['arrival'] });
    }
    for (const key of ['arrival', 'maxInFlight'] as const) {
      if (load[key] !== undefined && load.rate === undefined && load.trace === undefined) {
        context.addIssue({ code: 'custom', message: 'applies to open loop only (load.rate or load.trace)', path: [key] });
      }
    }
    if (load.burstiness !== undefined && load.arrival !== 'gamma') {
      context.addIssue({ code: 'custom', message: 'applies to gamma arrivals only (load.arrival: gamma)', path: ['burstiness'] });
    }
  });

const sloSchema = z
  .record(z.string(), z.number({ error: 'must be a number' }).min(0, 'must be >= 0'))
  .superRefine((slo, context) => {
    for (const [key, bound] of Object.entries(slo)) {
      const parsed = parseSloKey(key, bound);
      if (typeof parsed === 'string') context.addIssue({ code: 'custom', message: parsed, path: [key] });
    }
  })
  .describe(
    'Service-level objectives, METRIC_STAT[_ms]: bound, e.g. ttft_p95_ms: 500, tpot_p99_ms: 50, decode_tokens_per_s_p5: 20, error_rate: 0.01.',
  );

const thresholdsSchema = z
  // Each entry is checked here, so one that is not a string does not hide the others' problems.
  .array(z.unknown(), { error: 'must be a list of expressions such as "ttft.p95 < 500ms"' })
  .superRefine((expressions, context) => {
    expressions.forEach((expression, index) => {
      if (typeof expression !== 'string') {
        context.addIssue({ code: 'custom', message: 'must be a string such as "ttft.p95 < 500ms"', path: [index] });
        return;
      }
      try {
        parseThreshold(expression);
      } catch (error) {
        if (!(error instanceof ThresholdSyntaxError)) throw error;
        context.addIssue({ code: 'custom', message: `${error.message}: ${expression}`, path: [index] });
      }
    });
  })
  .describe(
    'Pass/fail bounds on every cell, e.g. "ttft.p95 < 500ms", "tpot.p99 <= 40ms", "output_tokens_per_s > 900", "errors.rate < 1%", "ttft.p99{model=m, concurrency=8} < 2s". A failure makes run exit 99.',
  );

const capacitySchema = z
  .strictObject({
    start: positiveNumber.optional().describe('First load tried (default 1); doubled until the SLO fails.'),
    max: positiveNumber.optional().describe('Highest load tried (default 1024).'),
    tolerance: positiveNumber.optional().describe('Bisection stops when passing and failing loads are this close (default 1).'),
  })
  .refine((c) => (c.start ?? 1) <= (c.max ?? 1024), 'start must not exceed max')
  .describe('How `tokenmeter capacity` searches for the highest load within the SLO.');

const sweepSchema = z
  .strictObject({
    rates: atMost(positiveInteger, LIMITS.sweepRates, 'cells per model one sweep runs')
      .optional()
      .describe(`Rates run between the synchronous and the throughput probe, evenly spaced (default ${DEFAULT_SWEEP_RATES}).`),
    maxConcurrency: atMost(positiveInteger, LIMITS.inFlight, 'streams one process holds')
      .min(2, 'must be at least 2 (the synchronous probe is c=1)')
      .optional()
      .describe(`Requests in flight in the throughput probe (default: the highest load.concurrency if above 1, else ${DEFAULT_SWEEP_MAX_CONCURRENCY}).`),
  })
  .describe('How `tokenmeter sweep` runs: a synchronous probe (c=1), a throughput probe (c=maxConcurrency), then rates evenly spaced between them.');

/** A length in tokens, within what one prompt or answer can be. */
const TOKENS_WHY = 'tokens of one prompt or answer, built in memory';
const tokenCount = atMost(positiveInteger, LIMITS.tokens, TOKENS_WHY);

const lengthSchema = z.union(
  [
    tokenCount,
    z.discriminatedUnion(
      'distribution',
      [
        z.strictObject({ distribution: z.literal('fixed'), value: tokenCount }),
        z
          .strictObject({ distribution: z.literal('uniform'), min: tokenCount, max: tokenCount })
          .refine((d) => d.min <= d.max, 'min must not exceed max'),
        z
          .strictObject({
            distribution: z.enum(['normal', 'lognormal']),
            mean: atMost(positiveNumber, LIMITS.tokens, TOKENS_WHY),
            stdev: z.number({ error: 'must be a number >= 0' }).min(0, 'must be >= 0'),
            min: tokenCount.optional(),
            max: tokenCount.optional(),
          })
          .refine((d) => (d.min ?? 1) <= (d.max ?? Infinity), 'min must not exceed max'),
      ],
      { error: 'distribution must be one of fixed (value), uniform (min, max), normal or lognormal (mean, stdev, min?, max?)' },
    ),
  ],
  { error: 'must be a token count, or {distribution: fixed|uniform|normal|lognormal, ...}' },
);

/** synthetic.count when the scenario sets none. */
export const DEFAULT_SYNTHETIC_PROMPTS = 100;

/**
 * Most shared-prefix groups: each group's prefix starts with its own one-token word, so no two
 * groups share a first token, and the built-in tokenizers have about 550 such words.
 */
const MAX_PREFIX_GROUPS = 500;

const sharedPrefixSchema = z
  .strictObject({
    tokens: tokenCount.describe("Tokens of the shared prefix, exact in the model's tokenizer."),
    groups: atMost(positiveInteger, MAX_PREFIX_GROUPS, 'groups start with distinct one-token words')
      .optional()
      .describe('Distinct prefixes (default 1); prompt i has group i mod groups. At most count.'),
    as: z
      .enum(SHARED_PREFIX_PLACES, { error: `must be one of ${SHARED_PREFIX_PLACES.join(', ')}` })
      .optional()
      .describe('system (default): the prefix is a system message and the unique part the user message; user: one user message, the prefix first.'),
  })
  .describe("A prefix shared by each group of prompts (vLLM's prefix repetition): the prompts of a group start with the same tokens.");

const promptListSchema = z
  .array(
    z.union(
      [
        z.string().min(1, 'must not be empty'),
        z.strictObject({ messages: z.array(messageSchema).min(1, 'must have at least one message'), max_tokens: positiveInteger.optional() }),
      ],
      { error: 'must be a string or {messages: [...], max_tokens?}' },
    ),
  )
  .min(1, 'must list at least one prompt');

const promptsSchema = z
  .union(
    [
      promptListSchema,
      z
        .strictObject({
          file: z
            .string()
            .min(1, 'must not be empty')
            .describe('A prompt or dataset file, relative to the scenario (read whole; no network).'),
          format: z
            .enum(DATASET_FORMATS, { error: `must be one of ${DATASET_FORMATS.join(', ')}` })
            .optional()
            .describe(
              'jsonl (default): one {messages} or {prompt} per line, optional max_tokens; sharegpt: a JSON array of {conversations: [{from, value}]}, ' +
                'the first human turn sent and the first gpt turn after it the reference answer; openai-chat: one {messages} per line, a final assistant message the reference answer (not sent).',
            ),
          minInputTokens: tokenCount.optional().describe("Keep prompts of at least this many tokens (the messages' text, in the model's tokenizer)."),
          maxInputTokens: tokenCount.optional().describe('Keep prompts of at most this many tokens.'),
          minOutputTokens: tokenCount.optional().describe("Keep entries whose reference answer has at least this many tokens (the model's tokenizer); entries without one are left out."),
          maxOutputTokens: tokenCount.optional().describe('Keep entries whose reference answer has at most this many tokens; entries without one are left out.'),
          limit: positiveInteger.optional().describe('Most prompts kept, after the filters (default: all).'),
          sample: z
            .enum(['first', 'random'], { error: 'must be first or random' })
            .optional()
            .describe("first (default): entries in file order; random: in an order shuffled from the scenario's seed, the same for every model."),
          turns: z
            .union([atMost(positiveInteger, MAX_TURNS, 'each turn carries the whole history'), z.literal('all')], { error: 'must be a positive integer or all' })
            .optional()
            .describe(
              "Multi-turn sessions (sharegpt, openai-chat): each conversation's human turns in order, up to this many (all: every one); the dataset's answers are replaced by the server's own. Unset: the first exchange only.",
            ),
        })
        .superRefine((spec, context) => {
          for (const [min, max] of [
            ['minInputTokens', 'maxInputTokens'],
            ['minOutputTokens', 'maxOutputTokens'],
          ] as const) {
            if ((spec[min] ?? 0) > (spec[max] ?? Infinity)) context.addIssue({ code: 'custom', message: `must not exceed ${max}`, path: [min] });
          }
          if (spec.turns !== undefined && (spec.format ?? 'jsonl') === 'jsonl') {
            context.addIssue({ code: 'custom', message: 'applies to conversations only (format: sharegpt or openai-chat)', path: ['turns'] });
          }
        }),
      z.strictObject({
        synthetic: z
          .strictObject({
            count: positiveInteger.optional().describe(`Distinct prompts (default ${DEFAULT_SYNTHETIC_PROMPTS}); requests cycle through them.`),
            inputTokens: lengthSchema.describe(
              "Prompt length in tokens of the model's tokenizer: exact. With sharedPrefix, the length of each prompt's own part, after the prefix.",
            ),
            outputTokens: lengthSchema.optional().describe('Output length, sent as max_tokens (and ignore_eos/min_tokens where the provider takes them).'),
            sharedPrefix: sharedPrefixSchema.optional(),
            turns: atMost(positiveInteger, MAX_TURNS, 'each turn carries the whole history')
              .optional()
              .describe("Multi-turn sessions: turns per session, each a new user message of inputTokens sent with the history so far (the server's answers verbatim). Unset: single-turn requests."),
            followUpTokens: lengthSchema
              .optional()
              .describe('Multi-turn sessions: the length of the user message of turns 2 and later (default: inputTokens): a long first message, then short questions.'),
          })
          .superRefine((spec, context) => {
            const count = spec.count ?? DEFAULT_SYNTHETIC_PROMPTS;
            const groups = spec.sharedPrefix?.groups ?? 1;
            // A group without a prompt would be a prefix never sent.
            if (groups > count) context.addIssue({ code: 'custom', message: `must not exceed count (${count}): each group needs a prompt`, path: ['sharedPrefix', 'groups'] });
          }),
      }),
    ],
    { error: 'must be a list of prompts, {file: prompts.jsonl, format?, ...}, or {synthetic: {inputTokens, ...}}' },
  )
  .describe('A list of prompts, a JSONL or dataset file (ShareGPT, OpenAI chat), or synthetic prompts of exact token lengths.');

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string({ error: 'must be a string' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, ".", "_", "-"')
      .max(LIMITS.nameChars, `must be at most ${LIMITS.nameChars} characters (it names the results folder)`),
    description: z.string().optional(),
    target: z.strictObject({
      baseURL: z
        .string({ error: 'must be a string' })
        .refine((url) => url === 'builtin' || /^https?:\/\/[^\s]+$/.test(url), 'must be "builtin" or an http(s) URL')
        .describe('"builtin" for the built-in simulator, or the API base URL ending in /v1.'),
      api: z
        .enum(API_NAMES, { error: `must be one of ${API_NAMES.join(', ')}` })
        .optional()
        .describe(
          'The API to call: chat (POST /v1/chat/completions, default), completions (/v1/completions), responses (/v1/responses) or messages (Anthropic, /v1/messages).',
        ),
      provider: z
        .enum(PROVIDER_NAMES, { error: `must be one of ${PROVIDER_NAMES.join(', ')}` })
        .optional()
        .describe('Known differences of the provider, for precise warnings (default generic: assumes nothing).'),
      apiKey: z.string().optional().describe('Sent as a bearer token. Use ${VAR} to read it from the environment.'),
      headers: z.record(z.string(), z.string()).optional(),
      timeout: durationSchema.optional().describe('Total timeout per request (default 10m).'),
      idleTimeout: durationSchema.optional().describe('Longest wait for the next byte (default 60s).'),
      newConnectionPerRequest: z
        .boolean()
        .optional()
        .describe('Open a new connection for every request, to measure cold starts (default false).'),
      simulator: simulatorSchema.optional(),
    }),
    models: z
      .array(
        z.union(
          [
            z.string().min(1, 'must not be empty'),
            z.strictObject({
              name: z.string().min(1, 'must not be empty'),
              tokenizer: tokenizerSchema.optional(),
              params: paramsSchema.optional(),
            }),
          ],
          { error: 'must be a model name or {name, tokenizer, params}' },
        ),
      )
      .min(1, 'must list at least one model'),
    load: loadSchema,
    prompts: promptsSchema.optional().describe('What to send: required, except with load.trace, whose lines say what each arrival sends.'),
    params: paramsSchema.optional(),
    seed: z.number().int('must be an integer').optional().describe('Seed of open-loop arrivals and synthetic prompts (default 1).'),
    slo: sloSchema.optional(),
    thresholds: thresholdsSchema.optional(),
    capacity: capacitySchema.optional(),
    sweep: sweepSchema.optional(),
  })
  .describe('A tokenmeter scenario.');

/**
 * `prompts` is required, except with `load.trace`, whose lines are the prompts (and then it must be
 * absent: a second source would be ignored, or fight the trace). Checked beside the schema, so it is
 * reported with every other problem; undefined when there is none.
 */
export function promptsProblem(raw: unknown): string | undefined {
  const { prompts, load } = (raw ?? {}) as { prompts?: unknown; load?: { trace?: unknown } };
  const trace = typeof load === 'object' && load !== null && load.trace !== undefined;
  if (trace && prompts !== undefined) return "must not be set with load.trace: the trace's lines are the prompts";
  if (!trace && prompts === undefined) return 'is required: what to send (a list, a file, or synthetic), unless load.trace says it';
  return undefined;
}

export type RawScenario = z.infer<typeof scenarioSchema>;

/** Whether the scenario's prompts are multi-turn sessions (`turns` set). */
function hasTurns(prompts: RawScenario['prompts']): boolean {
  if (prompts === undefined || Array.isArray(prompts)) return false;
  return 'synthetic' in prompts ? prompts.synthetic.turns !== undefined : prompts.turns !== undefined;
}

/**
 * What multi-turn sessions rule out, as problems with their paths: sessions run in a closed loop
 * on one thread (`workersFlag`: `--workers`, which wins over load.workers), and a think time
 * without sessions has nothing to wait between.
 */
export function sessionProblems(raw: Pick<RawScenario, 'prompts' | 'load'>, workersFlag?: number): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const { prompts } = raw;
  if (prompts !== undefined && !Array.isArray(prompts) && 'synthetic' in prompts && prompts.synthetic.followUpTokens !== undefined && prompts.synthetic.turns === undefined) {
    problems.push({ path: ['prompts', 'synthetic', 'followUpTokens'], message: 'applies to multi-turn sessions only (prompts.synthetic.turns)' });
  }
  if (!hasTurns(prompts)) {
    if (raw.load.thinkTime !== undefined) problems.push({ path: ['load', 'thinkTime'], message: 'applies to multi-turn sessions only (prompts with turns)' });
    return problems;
  }
  if (raw.load.rate !== undefined) {
    problems.push({ path: ['load', 'rate'], message: 'multi-turn sessions run in a closed loop: set load.concurrency (sessions in flight) instead' });
  }
  if (workersFlag !== undefined && workersFlag > 1) {
    problems.push({ path: ['load', 'workers'], message: `multi-turn sessions run on one thread: --workers ${workersFlag} cannot split them` });
  } else if (raw.load.workers !== undefined && raw.load.workers > 1) {
    problems.push({ path: ['load', 'workers'], message: 'multi-turn sessions run on one thread: set 1 or leave it unset' });
  }
  return problems;
}

export type RawSimProfile = z.infer<typeof simProfileSchema>;
export type RawLength = z.infer<typeof lengthSchema>;
