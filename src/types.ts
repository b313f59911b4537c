/**
 * The shared data model of tokenmeter. No logic lives here.
 *
 * Times inside a request are milliseconds on one monotonic clock (the
 * client's Clock: `performance.now()` in a real run), and relative to `t0` (the instant just before the
 * HTTP request was written) wherever a field name ends in `Ms`.
 */
import type { CellValueSubject, MetricName } from './metrics/catalog.js';

/** A distribution's name: one of METRIC_NAMES, which the metric catalog (metrics/catalog.ts) defines. */
export type { MetricName };

/** The roles a chat message may have (scenario prompts, prompt files, traces). */
export const CHAT_ROLES = ['system', 'user', 'assistant', 'developer', 'tool'] as const;

/** One chat message, as OpenAI's chat API takes it. */
export interface ChatMessage {
  role: (typeof CHAT_ROLES)[number];
  content: string;
}

/** A prompt is always a list of messages once the scenario is normalized. */
export interface Prompt {
  messages: ChatMessage[];
  /** This prompt's own max_tokens (a JSONL line's, or a synthetic output length), over the scenario's params. */
  maxTokens?: number;
  /**
   * Tokens of the messages' text, when a synthetic prompt was built to that length (the model's
   * tokenizer): with a shared prefix, the prefix's tokens and the prompt's own together.
   */
  inputTokens?: number;
  /** maxTokens is the exact output length (a trace's output_tokens), sent with ignore_eos/min_tokens where the provider takes them, as synthetic prompts' are. */
  exactOutput?: true;
  /**
   * Tokens of the dataset's reference answer in the model's tokenizer: sent as max_tokens unless the
   * prompt has its own maxTokens or the scenario's or model's params set an output length.
   */
  referenceTokens?: number;
  /**
   * Multi-turn sessions: the user's turns after the first, in order. Turn k (2…) is sent as the
   * history so far (every earlier turn's messages, each followed by the server's own answer to it,
   * verbatim) plus `followUps[k − 2].messages`. Undefined for a single-turn prompt.
   */
  followUps?: FollowUp[];
}

/** One later turn of a multi-turn session: what the user adds after the server's previous answer. */
export interface FollowUp {
  messages: ChatMessage[];
  /** This turn's own max_tokens (a synthetic output length), as Prompt.maxTokens is for the first turn. */
  maxTokens?: number;
  /** Tokens of these messages' text, when built to that length (synthetic prompts, the model's tokenizer). */
  inputTokens?: number;
  /** Tokens of the dataset's reference answer to this turn (not sent: a cap, as Prompt.referenceTokens). */
  referenceTokens?: number;
}

/** The dataset file formats of `prompts: {file, format}`. */
export const DATASET_FORMATS = ['jsonl', 'sharegpt', 'openai-chat'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** One entry of a dataset file: a prompt, and the answer the dataset recorded for it (not sent). */
export interface DatasetEntry extends Omit<Prompt, 'followUps'> {
  /** The reference answer's text (ShareGPT's gpt turn, an OpenAI chat line's final assistant message). */
  reference?: string;
  /**
   * The conversation's later human turns, each with the dataset's answer to it (not sent: in a
   * session the server's own answers take their place); read for `turns` only.
   */
  laterTurns?: { messages: ChatMessage[]; reference?: string }[];
}

/**
 * Prompts read from a dataset file, filtered and limited per model at run time
 * (lengths count in each model's tokenizer).
 */
export interface DatasetPrompts {
  dataset: true;
  /** The file, resolved (for messages). */
  file: string;
  format: DatasetFormat;
  /** SHA-256 of the file's bytes, lowercase hex: what run.json keeps of the file instead of its entries. */
  sha256: string;
  /** Every usable entry, in file order (not written to run.json). */
  entries: DatasetEntry[];
  /** Well-formed entries with nothing to send (a ShareGPT conversation without a human turn), left out. */
  skipped: number;
  /** Bounds on a prompt's tokens (the messages' text, no chat template), inclusive. */
  minInputTokens?: number;
  maxInputTokens?: number;
  /** Bounds on the reference answer's tokens, inclusive; an entry without one is left out when either is set. */
  minOutputTokens?: number;
  maxOutputTokens?: number;
  /** Most prompts kept, after the filters. */
  limit?: number;
  /** first: entries in file order; random: in an order shuffled from the scenario's seed (the same for every model). */
  sample: 'first' | 'random';
  /**
   * Multi-turn sessions: each conversation's human turns in order, up to this many (`all`: every
   * one); undefined: the first exchange only, a single-turn request.
   */
  turns?: number | 'all';
}

/** Names of the built-in tokenizers (one list for the type, the schema and the code). */
export const TOKENIZER_NAMES = ['llama3', 'o200k', 'cl100k'] as const;
export type TokenizerName = (typeof TOKENIZER_NAMES)[number];
/** `models[].tokenizer: server`: the target server's own tokenize endpoint (vLLM, llama.cpp), asked after each cell. */
export const SERVER_TOKENIZER = 'server';
/** Which server's tokenize endpoint format to speak (client/tokenize-endpoint.ts). */
export type TokenizeFormat = 'vllm' | 'llamacpp';

/** Knobs of the built-in simulator for one model. */
export interface SimModelProfile {
  /** Time from request to first token when the server is idle, ms. */
  ttftMs: number;
  /** Decode speed of one stream while the server is within capacity, tokens/s. */
  tokensPerSecond: number;
  /**
   * Prompt processing speed, tokens/s: when set, the first token comes `ttftMs` plus the request's
   * uncached prompt tokens ÷ this after admission (a prefill); unset, prompts cost nothing.
   */
  prefillTokensPerSecond?: number;
  /**
   * A prefix cache: the simulator remembers every message-list prefix it has served, and a request
   * whose leading messages it has seen counts their tokens as cached (usage.prompt_tokens_details.cached_tokens),
   * which then cost no prefill.
   */
  prefixCache?: boolean;
  /** Tokens per SSE chunk: a fixed count, or an inclusive [min, max] range drawn per chunk. */
  tokensPerChunk: number | [number, number];
  /** Output length in tokens (capped by the request's max_tokens): fixed or an inclusive range. */
  outputTokens: number | [number, number];
  /** Streams decoded at full speed at once; requests beyond it wait in a queue. */
  capacity: number;
  /** Extra tokens the final usage block reports beyond what was streamed (a stop token). */
  usageExtraTokens: number;
  /** Reasoning tokens streamed (as delta.reasoning_content) before the answer: fixed or a range (default 0). */
  reasoningTokens?: number | [number, number];
  /**
   * Words per server token (default 1). At 2, the server's tokens are no public
   * tokenizer's: only logprobs or continuous usage can count them exactly.
   */
  wordsPerToken?: number;
  /**
   * What follows the final event ([DONE], response.completed, message_stop): `close` ends the
   * response (the default); `keepOpen` leaves it open until the client closes it; `repeatDone`
   * sends the final event a second time, REPEAT_DONE_MS (300 ms) later, then ends it.
   */
  afterDone?: 'close' | 'keepOpen' | 'repeatDone';
  /**
   * Each connection serves one request while the server advertises keep-alive: a request that
   * arrives on a connection that already served one is dropped unanswered, the connection closed.
   * That is what a client sees when it reuses a connection llama.cpp closed after its response.
   */
  staleKeepAlive?: boolean;
  /** A 2xx stream (or whole body) with no output at all: the start, then the end and the final event. */
  emptyStream?: boolean;
  /** Real servers' token-count behaviours, by name (SIM_QUIRKS): each one a case tokenmeter must count right or mark. */
  quirks?: SimQuirk[];
}

/**
 * What real servers were measured to do (issue 11, llama.cpp's llama-server):
 * - close-after-response: the connection closed after each response while keep-alive is advertised (as `staleKeepAlive`).
 * - one-logprob-per-event: exactly one logprobs entry per event, however many tokens it carries.
 * - hold-back-flush: tokens held back (a stop string might match) and sent in one event, up to 11.
 * - usage-per-choice: with n > 1, one usage block per choice (on its finish chunk), no total.
 * - llamacpp-timings: a `timings` object (prompt_ms, predicted_ms, …) on the final chunk.
 * - textless-token: a token with empty text mid-stream (`<s>`), counted by usage, sent in no event.
 */
export const SIM_QUIRKS = ['close-after-response', 'one-logprob-per-event', 'hold-back-flush', 'usage-per-choice', 'llamacpp-timings', 'textless-token'] as const;
export type SimQuirk = (typeof SIM_QUIRKS)[number];

/**
 * The simulator's default profile, in the range of a fast hosted 70B
 * deployment: ~150 ms TTFT, 200 tokens/s per stream, several tokens per chunk
 * as SambaNova sends them. (Data, not logic: scenario defaults and the
 * simulator both read it.)
 */
export const DEFAULT_SIM_PROFILE: SimModelProfile = {
  ttftMs: 150,
  tokensPerSecond: 200,
  tokensPerChunk: [1, 4],
  outputTokens: [64, 128],
  capacity: 16,
  usageExtraTokens: 0,
};

/** The simulator's configuration as a scenario (or `tokenmeter sim`) gives it. */
export interface SimConfig {
  /** Seed of every random draw the simulator makes. */
  seed: number;
  /** Profile for models not listed in `models`. */
  defaults: SimModelProfile;
  /** Per-model profiles, by model name. */
  models: Record<string, SimModelProfile>;
}

/** The APIs tokenmeter speaks. Each only turns a raw stream into timed token events; the metrics are shared. */
export const API_NAMES = ['chat', 'completions', 'responses', 'messages'] as const;
export type ApiName = (typeof API_NAMES)[number];

/** Providers whose known differences tokenmeter can warn about; generic assumes nothing. */
export const PROVIDER_NAMES = ['generic', 'sambanova', 'openai', 'vllm', 'llamacpp'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Where and how requests are sent. */
export interface Target {
  /** Which API to call: chat/completions (default), completions, responses, or messages (Anthropic). */
  api: ApiName;
  /** Known differences of the provider (ignored parameters…), for precise warnings. */
  provider: ProviderName;
  /** `builtin` for the in-process simulator, else the API's base URL (…/v1). */
  baseURL: string;
  /** API key sent as a bearer token; never written to any output. */
  apiKey?: string;
  /** Extra HTTP headers sent with every request. */
  headers: Record<string, string>;
  /** Give up on a request after this long in total, ms. */
  timeoutMs: number;
  /** Give up on a request when no byte arrived for this long, ms. */
  idleTimeoutMs: number;
  /** Open a new connection for every request (cold starts), instead of keep-alive. */
  newConnectionPerRequest: boolean;
  /** The built-in simulator's settings (only used with `baseURL: builtin`). */
  simulator: SimConfig;
}

export interface ModelSpec {
  /** The model name sent in the request. */
  name: string;
  /**
   * Tokenizer used to count output tokens: a built-in name, `server` (the
   * server's tokenize endpoint), or the absolute path of a Hugging Face
   * tokenizer.json or a GGUF file (a scenario's relative paths are resolved
   * against it, and its hf:ORG/NAME to the cached tokenizer.json);
   * `undefined` means "infer from the name" (and, for the vllm and llamacpp
   * providers, `server` when the name says nothing).
   */
  tokenizer?: TokenizerName | typeof SERVER_TOKENIZER | string;
  /** Request parameters for this model, merged over the scenario's `params`. */
  params: Record<string, unknown>;
}

/** Most load worker threads one process runs (`load.workers`, `--workers`): beyond a machine's cores they only share them. */
export const MAX_WORKERS = 1024;

/** How load is offered: closed loop (a fixed number in flight) or open loop (arrivals at a rate). */
export const LOAD_KINDS = ['concurrency', 'rate'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];

/** One load level of a sweep. */
export interface LoadLevel {
  kind: LoadKind;
  /**
   * Requests in flight (concurrency), or arrivals per second (rate): a ramp's starting rate, a
   * replayed trace's mean arrival rate (arrivals − 1 over its span, times the speed-up).
   */
  value: number;
  /** A rate ramp (`load.rate: {from, to, over}`): the rate rises (or falls) linearly from `value` to `toRate` over `overMs`. */
  ramp?: RateRamp;
  /** A replayed trace (`load.trace`): its arrivals at their own times, `speedup` times faster. */
  trace?: { speedup: number };
}

/** The part of a rate ramp beyond its starting rate (LoadLevel.value). */
export interface RateRamp {
  /** Arrivals per second at the ramp's end. */
  toRate: number;
  /** The ramp's length, ms: its end ends the cell. */
  overMs: number;
}

export const ARRIVAL_NAMES = ['constant', 'poisson', 'gamma'] as const;
export type Arrival = (typeof ARRIVAL_NAMES)[number];

export interface LoadSpec {
  kind: LoadKind;
  /** The sweep: concurrency levels or rates (requests/s), run in order, one cell each per model. */
  levels: number[];
  /** Open loop: `constant` (arrival i due at start + i/R), `poisson` (seeded exponential gaps) or `gamma` (seeded gamma gaps). */
  arrival: Arrival;
  /** Gamma arrivals: the gaps' shape B (coefficient of variation 1/√B; 1 is Poisson, below 1 burstier); unset for the others. */
  burstiness?: number;
  /** Open loop: most requests in flight at once; an arrival that finds it full is recorded as dropped. */
  maxInFlight: number;
  /** Measured requests per cell (arrivals, in open loop); with `durationMs`, whichever ends first. */
  requests?: number;
  /** Measured time per cell, ms: nothing new is sent after it; requests in flight finish. */
  durationMs?: number;
  /** Warm-up requests per cell, sent first and excluded; at least one per concurrency slot in closed loop. */
  warmup?: number;
  /** Warm-up time per cell, ms (instead of a count). */
  warmupMs?: number;
  /** A cell whose p99 schedule lag exceeds this is marked invalid: the client, not the server, was the bottleneck, ms. */
  maxScheduleLagMs: number;
  /** A cell whose client event-loop delay p99 exceeds this is marked invalid: the client, not the server, was the bottleneck, ms. */
  maxClientLagMs: number;
  /** A cell whose client event-loop utilization reaches this is marked invalid; unset: 0.95 (metrics/client-health.ts). */
  maxClientUtilization?: number;
  /** Sharded runs: a shard that starts a cell later than this after its scheduled start marks its part invalid, ms. */
  maxStartOffsetMs: number;
  /**
   * Threads that send and read the load (`--workers` wins): each owns one share of every cell
   * (load/load-workers.ts); 1 sends from the main thread. Unset: one per available core minus one, at least one.
   */
  workers?: number;
  /** Multi-turn sessions: the wait between a turn's answer and the session's next turn (think time), ms; unset: none. */
  thinkTime?: ThinkTime;
  /** `load.rate: {from, to, over}`: one rate ramp per model; `levels` is then `[from]`. */
  ramp?: RateRamp;
  /** `load.trace`: a trace replayed at its own times; `levels` is then each speed-up's mean rate, in `speedups` order. */
  trace?: LoadTrace;
}

/** A trace's arrival times and where they came from; what each arrival sends is in Scenario.prompts (TracePrompts). */
export interface LoadTrace {
  /** The trace file, resolved. */
  file: string;
  /** sha256 of the file's bytes, hex: run.json records it instead of every line. */
  sha256: string;
  /** Replay speed-ups, one cell each per model, in order (1: as recorded). */
  speedups: number[];
  /** Each line's timestamp as recorded (speed-up 1), from the trace's start, in line order (never decreasing), ms. */
  offsetsMs: number[];
}

/** A think time, ms: fixed, or drawn per wait from the scenario's seed. */
export type ThinkTime =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'exponential'; meanMs: number };

/**
 * One SLO bound, parsed from a key such as `ttft_p95_ms: 500`. Latencies and
 * token counts are upper bounds; rates (tokens/s) are lower bounds.
 */
export interface SloBound {
  /** The key as the scenario wrote it (`ttft_p95_ms`). */
  key: string;
  /** A histogram metric (METRIC_NAMES), or `error_rate` (a cell-level share). */
  metric: MetricName | 'error_rate';
  /** Percentile 0–100 (`p95` → 95, `p999` → 99.9), or a summary statistic. */
  stat?: number | 'mean' | 'min' | 'max';
  /** The bound, in the metric's unit (ms, tokens, tokens/s, or a share 0–1). */
  bound: number;
  /** `max`: the value must be ≤ bound; `min`: ≥ bound. */
  direction: 'max' | 'min';
}

/** `tokenmeter capacity`: how the search for the highest load within the SLO proceeds. */
export interface CapacitySpec {
  /** First load tried; doubled until the SLO fails. */
  start: number;
  /** Highest load tried. */
  max: number;
  /** Bisection stops when the passing and failing loads are this close (same unit as the load). */
  tolerance: number;
}

/** `tokenmeter sweep`'s rates between its probes when the scenario sets none. */
export const DEFAULT_SWEEP_RATES = 10;
/** The throughput probe's concurrency when the scenario's load names none above 1. */
export const DEFAULT_SWEEP_MAX_CONCURRENCY = 256;

/**
 * `tokenmeter sweep`: a synchronous probe (one request at a time), a throughput probe (a closed
 * loop at `maxConcurrency`), then `rates` open-loop rates evenly spaced between the two probes'
 * measured request rates, per model.
 */
export interface SweepSpec {
  /** Rates run between the two probes, each model its own. */
  rates: number;
  /**
   * Requests in flight in the throughput probe; unset: the scenario's highest `load.concurrency` if
   * above 1, else DEFAULT_SWEEP_MAX_CONCURRENCY (load/sweep.ts, `throughputConcurrency`).
   */
  maxConcurrency?: number;
}

/** What `tokenmeter sweep` did for one model: its two probes' measurements and the rates planned from them. */
export interface SweepOutcome {
  model: string;
  /** Request rate the synchronous probe (c=1) achieved, requests/s; undefined when it did not finish. */
  synchronousRps?: number;
  /** The throughput probe's concurrency, requests in flight. */
  maxConcurrency: number;
  /** Request rate the throughput probe achieved, requests/s; undefined when it did not run or finish. */
  throughputRps?: number;
  /** The rates planned between the probes, requests/s, ascending; empty when there is no span between them. */
  rates: number[];
  /** Why this model's sweep stopped before its rates (a probe measured no request rate), or why it has no rates. */
  stopped?: string;
  /** True when Ctrl-C stopped the sweep. */
  interrupted?: boolean;
}

/** A scenario after loading, interpolation, validation and normalization. */
export interface Scenario {
  name: string;
  description?: string;
  /** The file it came from, for messages. */
  file: string;
  target: Target;
  models: ModelSpec[];
  load: LoadSpec;
  /** Prompts as written or read from a file; synthetic prompts are built per model at run time; a trace's, one per line. */
  prompts: Prompt[] | SyntheticPrompts | DatasetPrompts | TracePrompts;
  /** Seed of open-loop arrivals and synthetic prompts. */
  seed: number;
  /** Service-level objectives: per request (goodput) and per cell (percentiles, error rate). */
  slo: SloBound[];
  /** Pass/fail bounds on each cell's summary; a failure makes `run` exit 99. */
  thresholds: Threshold[];
  capacity: CapacitySpec;
  /** How `tokenmeter sweep` runs: rates between the probes, and the throughput probe's concurrency. */
  sweep: SweepSpec;
  /** Request body parameters passed through as written (max_tokens, temperature, top_k, …). */
  params: Record<string, unknown>;
  /** The `--set PATH=VALUE` overrides applied to the file, in order (values touching secrets `[redacted]`). */
  overrides?: string[];
}

/** A length distribution in tokens; draws are rounded and clamped to [min, max]. */
export type LengthDistribution =
  | { kind: 'fixed'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; stdev: number; min: number; max: number }
  | { kind: 'lognormal'; mean: number; stdev: number; min: number; max: number };

/** Prompts generated from the scenario's seed, their lengths exact in each model's tokenizer. */
export interface SyntheticPrompts {
  synthetic: true;
  /** How many distinct prompts; requests cycle through them. */
  count: number;
  /** Input length per prompt, tokens; with `sharedPrefix`, of each prompt's own part after the prefix (vLLM's suffix_len). */
  inputTokens: LengthDistribution;
  /** Output length per prompt, sent as max_tokens (with ignore_eos/min_tokens where the provider takes them). */
  outputTokens?: LengthDistribution;
  /** Multi-turn sessions: turns per session, each a new user message of `inputTokens` (and answer of `outputTokens`); undefined: single-turn. */
  turns?: number;
  /** Multi-turn sessions: the length of the user messages of turns 2… (default: inputTokens), so a long first message can be followed by short questions. */
  followUpTokens?: LengthDistribution;
  /** A prefix shared by groups of prompts, before each prompt's own `inputTokens` (vLLM's prefix-repetition workload). */
  sharedPrefix?: SharedPrefix;
}

/** Where a shared prefix goes: a system message of its own, or the start of the user message. */
export const SHARED_PREFIX_PLACES = ['system', 'user'] as const;
export type SharedPrefixPlace = (typeof SHARED_PREFIX_PLACES)[number];

/**
 * Prompts in `groups` groups, prompt i in group i mod groups; the prompts of a group start with the
 * same `tokens` tokens (exact in each model's tokenizer), and no two groups share even a first token.
 */
export interface SharedPrefix {
  /** Tokens of the shared prefix, in the model's tokenizer. */
  tokens: number;
  /** Distinct prefixes; at most the prompt count. */
  groups: number;
  /** system: the prefix is a system message, the unique part the user message; user: both in one user message. */
  as: SharedPrefixPlace;
}

/** One line of a replayed trace: a synthetic prompt of exact lengths, or messages sent as written. */
export type TraceLine = { inputTokens: number; outputTokens: number } | { messages: ChatMessage[]; maxTokens?: number };

/** A trace's prompts (`load.trace`): line n is arrival n's prompt; synthetic lines are built per model at run time. */
export interface TracePrompts {
  trace: true;
  /** The trace file, resolved (for messages). */
  file: string;
  lines: TraceLine[];
}

/** The error classes a failed request can have. */
export type ErrorClass =
  | 'rate_limited' // 429
  | 'auth' // 401, 403
  | 'not_found' // 404
  | 'bad_request' // other 4xx
  | 'server_error' // 5xx
  | 'connection' // refused, reset, DNS, TLS
  | 'timeout' // idle or total timeout
  | 'truncated' // the stream ended without its final event
  | 'stream_error' // the server sent an error event mid-stream
  | 'bad_response' // a body tokenmeter could not parse
  | 'empty_response' // a 2xx (stream or whole body) without a single output chunk with text
  | 'interrupted'; // the run was stopped (Ctrl-C) while the request was in flight

export interface RequestError {
  class: ErrorClass;
  /** Short human-readable message, secrets scrubbed. */
  message: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** The first few hundred characters of the error body, secrets scrubbed. */
  bodyExcerpt?: string;
}

/** One SSE data event that carried output, as the reader saw it. */
export interface OutputChunk {
  /** Arrival time of the read that completed the event, on the client's clock, ms. */
  at: number;
  /** Output text of the chunk (content plus any reasoning text). */
  text: string;
  /** Choice index (0 unless `n > 1`). */
  choice: number;
  /** True when the text is reasoning, not answer (delta.reasoning_content or delta.reasoning). */
  reasoning?: boolean;
  /** Tokens the server itself says the chunk holds: its `logprobs.content` entries. */
  logprobTokens?: number;
  /** Those entries' token texts joined, when every entry had one: what validates them against `text` (METRICS.md). */
  logprobText?: string;
  /** `usage.completion_tokens` carried by this chunk (continuous usage), cumulative. */
  cumulativeTokens?: number;
}

/** The server's usage block, as sent. */
export type Usage = Record<string, unknown> & {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
};

/**
 * What the client observed for one request: raw timestamps, nothing derived.
 * Absolute times are on the client's clock (performance.now() unless a test injects one), ms.
 */
export interface Exchange {
  /** Unique id of the request in this run (also sent as `x-tokenmeter-request-id`). */
  id: string;
  /** When the scheduler meant to send it. */
  ts: number;
  /** Just before the HTTP request was written. */
  t0: number;
  /** First byte of the response body, if any arrived. */
  tb?: number;
  /** End of stream: the final event, or the close of the connection. */
  tEnd: number;
  /** Time spent opening a new connection (TCP + TLS), ms; undefined on a reused connection. */
  connectMs?: number;
  /**
   * True when the request was sent a second time, on a new connection: its first send, on a reused
   * keep-alive connection, failed before any byte of a response (the server had closed it). t0 is the resend's.
   */
  resent?: boolean;
  /** HTTP status, when a response arrived. */
  status?: number;
  chunks: OutputChunk[];
  usage?: Usage;
  error?: RequestError;
  /** False for a non-streaming request: its text arrived all at once, so it has no TTFT or TPOT. */
  streamed?: boolean;
  /** llama.cpp's `timings` object (prompt_ms, predicted_ms, …), as sent on its final chunk. */
  timings?: Record<string, unknown>;
  /** The server's own TTFT, as its API's adapter found it (SambaNova: usage.time_to_first_token), ms. */
  serverTtftMs?: number;
  /** The server's own E2E latency, as its API's adapter found it (SambaNova: usage.total_latency), ms. */
  serverE2eMs?: number;
}

/** How the per-chunk token counts of a request were obtained (METRICS.md, "Counting the tokens of a chunk"). */
export type TokenSource =
  | 'logprobs' // the server's logprobs.content entries per chunk: exact
  | 'logprobs+usage' // logprobs, reconciled to a final usage total that differed
  | 'continuous_usage' // per-chunk deltas of the server's running completion_tokens: exact
  | 'continuous_usage+usage' // continuous usage, reconciled to a final usage total that differed
  | 'usage' // a non-streaming response: the server's usage total, no chunks
  | 'tokenizer' // tokenizer offsets over the whole output; agreed with usage or no usage
  | 'tokenizer+usage' // tokenizer offsets, reconciled to the server's usage total (a mismatch)
  | 'fallback' // no tokenizer known for the model: the fallback tokenizer, no usage
  | 'fallback+usage' // fallback tokenizer reconciled to usage
  | 'none'; // nothing to count (a failed request with no output)

/** Per-request metrics derived from an Exchange (METRICS.md, "Per request"). */
export interface RequestMetrics {
  /** t0 - ts, ms. */
  scheduleLagMs: number;
  /** TTFT and E2E measured from the scheduled time ts (open loop: includes the client's own lateness), ms. */
  scheduledTtftMs?: number;
  scheduledE2eMs: number;
  ttfbMs?: number;
  ttftMs?: number;
  /** Time to first output: the first answer token, after any reasoning, ms. */
  ttfoMs?: number;
  e2eMs: number;
  /** Undefined when no token arrived after the first token-carrying chunk. */
  tpotMs?: number;
  /** Per-token ITL samples: g_i / k_i, repeated k_i times (as value and count pairs), ms. */
  itl: { gapPerTokenMs: number; tokens: number }[];
  /** Raw gaps between token-carrying chunks, ms. */
  chunkGapsMs: number[];
  /** Tokens of each chunk that carried tokens, in order. */
  tokensPerChunk: number[];
  /** Arrival time of each chunk that carried tokens, relative to t0, ms. */
  chunkTimesMs: number[];
  /** Choice of each chunk that carried tokens (all 0 unless n > 1). */
  chunkChoices: number[];
  /** With n > 1: each choice's own token stream (METRICS.md). */
  perChoice?: { choice: number; outputTokens: number; ttftMs: number; tpotMs?: number }[];
  outputTokens: number;
  /** Of outputTokens, those of reasoning text. */
  reasoningTokens: number;
  inputTokens?: number;
  /** N / e2e, tokens/s. */
  outputTokensPerS?: number;
  /** (N - k_f) / (t_l - t_f), tokens/s. */
  decodeTokensPerS?: number;
}

/** One request as written to requests.jsonl. */
export interface RequestRecord {
  id: string;
  model: string;
  load: LoadLevel;
  /** With `run --repeat K`: which repetition of the cell (1…K). */
  repeat?: number;
  warmup: boolean;
  /** Index of the prompt used. */
  prompt: number;
  /** Closed loop: the concurrency slot (0…c−1) that sent it; the throughput window needs to know when each slot's work ended. */
  slot?: number;
  /** Multi-turn sessions: the session it belongs to (unique in the run, like request ids). */
  session?: string;
  /** Multi-turn sessions: its turn in the session, 1-based. */
  turn?: number;
  /** Wall-clock send time: t0 mapped onto Unix time, ms (METRICS.md); undefined for a dropped arrival, never sent. */
  sentAtUnixMs?: number;
  /** When the scheduler meant to send it (ts) on Unix time, ms: a dropped arrival's only time (`merge` puts it in the throughput window). */
  scheduledAtUnixMs?: number;
  /** `run --shard i/N`: the shard (i) that sent it. */
  shard?: number;
  /** `run --shard`: how late the shard started this request's cell after the cell's scheduled start, ms. */
  startOffsetMs?: number;
  /** `dropped`: an open-loop arrival that found maxInFlight requests in flight, so it was never sent. */
  outcome: 'ok' | 'error' | 'dropped';
  error?: RequestError;
  /** Whether the request met every per-request SLO bound (undefined when the scenario has no SLO). */
  metSlo?: boolean;
  status?: number;
  connectMs?: number;
  /** Sent a second time on a new connection, its reused keep-alive connection having failed before any byte of a response. */
  resent?: boolean;
  metrics: RequestMetrics;
  tokenSource: TokenSource;
  /** Tokenizer used to count output tokens. */
  tokenizer: string;
  /**
   * Characters (Unicode code points) of the output text, reasoning included,
   * like the token count: unlike tokens, comparable across tokenizers (`compare`'s output chars/s).
   */
  outputChars?: number;
  /** Server total minus tokenizer total, when they differed. */
  usageMismatch?: number;
  /**
   * The per-chunk counts are not exact (METRICS.md): the tokenizer's total was
   * beyond the allowance from the server's, so every chunk was scaled; or the
   * tokenizer is the named fallback, not the model's own.
   */
  approximate?: true;
  /** Why a more trusted token source was passed over (logprobs or continuous usage that failed validation). */
  tokenSourceReason?: string;
  /** Prompt tokens the server says came from its prefix cache (usage.prompt_tokens_details.cached_tokens, cache_read_input_tokens, …). */
  cachedPromptTokens?: number;
  /** llama.cpp's `timings` object, as sent. */
  timings?: Record<string, unknown>;
  /** The server's own TTFT and E2E (SambaNova's usage.time_to_first_token, total_latency), ms. */
  serverTtftMs?: number;
  serverE2eMs?: number;
  usage?: Usage;
}

/** Identity of one cell: one model at one load level. */
export interface CellKey {
  model: string;
  load: LoadLevel;
  /** With `run --repeat K`: which repetition (1…K); undefined for a cell run once, or for the K repeats merged. */
  repeat?: number;
}

/** What `tokenmeter capacity` found for one model. */
export interface CapacityOutcome {
  model: string;
  kind: LoadKind;
  /** Highest load that met the SLO (the knee); undefined when even the first load failed. */
  best?: number;
  /** The lowest load that failed (the first one above the knee), with the bounds that broke ("ttft_p95_ms 612 > 500"). */
  firstFailure?: { load: number; reason: string };
  /** Every load tried, in the order tried. */
  steps: { load: number; met: boolean; reason?: string }[];
  /** The search's tolerance, in the load's unit. */
  tolerance: number;
  /** True when the search reached capacity.max and every load passed. */
  reachedMax: boolean;
  /** True when Ctrl-C stopped the search: `best` is then only a lower bound. */
  interrupted?: boolean;
}

/** Comparison operators of thresholds. */
export type ThresholdOp = '<' | '<=' | '>' | '>=';

/**
 * A threshold, parsed once from the scenario (`ttft.p95{model=m} < 500ms`):
 * a bound on one value of each matching cell's summary.
 */
export interface Threshold {
  /** The expression as the scenario wrote it. */
  source: string;
  /**
   * What is measured: a histogram metric with a statistic (`{metric: 'ttft', stat: 95}`),
   * or a cell value (`output_tokens_per_s`, `requests_per_s`, `goodput`, `errors.rate`,
   * `errors.count`, `dropped.rate`, `dropped.count`).
   */
  metric: MetricName | CellValueSubject;
  /** Percentile (0–100), `mean`, `min`, `max`, `stdev`, `count`; or `rate`/`count` for errors and dropped. */
  stat?: number | 'mean' | 'min' | 'max' | 'stdev' | 'count' | 'rate';
  /** Only cells of this model / at this load level. */
  /** The cells it bounds: by model, concurrency, rate (a ramp's starting rate), a trace's speed-up. */
  filters: { model?: string; concurrency?: number; rate?: number; speedup?: number };
  op: ThresholdOp;
  /** The bound in the value's own unit: ms for times, a share (0–1) for rates, tokens/s, requests/s. */
  value: number;
}

/**
 * How a `compare` row judges whether two contenders differ (docs/compare.md):
 * `shift` the Hodges–Lehmann shift of log per-request values with its
 * Mann–Whitney interval and p-value; `rate` the same on per-request rates
 * for a cell's throughput, counted only when the cell values move the same
 * way; `percentile` an m-out-of-n bootstrap of a tail percentile; `proportion`
 * Newcombe's interval for a difference of two shares; `none` not judged.
 */
export type SideBySideTest = 'shift' | 'rate' | 'percentile' | 'proportion' | 'none';

/** A contender's difference to the first contender, and whether it is beyond the noise. */
export interface SideBySideDiff {
  /** Relative change (a share: 0.12 = +12%); for a `proportion` row, the difference in points (a share: 0.083 = +8.3pp). */
  change: number;
  /** The interval of the change at the row's confidence (corrected for the comparisons made). */
  interval?: [number, number];
  /** Two-sided p-value (Mann–Whitney), where the test gives one. */
  p?: number;
  /** Whether the interval excludes no difference; undefined where the row is not judged or the samples are too few. */
  significant?: boolean;
  /** Why there is no verdict: `too few samples for p99 (100 a side)`, `not judged`… */
  unjudged?: string;
  /**
   * What the interval and p-value are of, when not of `change` itself: a cell's
   * throughput or goodput is one number per run, so the evidence is its
   * requests' (their rates, `per request`; their share within the SLO, in points).
   */
  of?: { what: string; estimate: number; points?: true };
}

/** One value of a side-by-side comparison, for one contender. */
export interface SideBySideValue {
  value: number;
  /** The winner of the row: the best value, and significantly better than every other contender's. */
  best: boolean;
  /** The samples the row's test used from this contender (requests; for a proportion, all measured requests). */
  n?: number;
  /** The difference to the first contender. */
  diff?: SideBySideDiff;
}

/** `tokenmeter compare`: contenders (models, providers, builds) side by side, per load level. */
export interface SideBySide {
  /** Column names, in order; the first is the reference the differences are taken to. */
  contenders: string[];
  /** Confidence level asked for (0.95): the family-wise level of each row's comparisons. */
  confidence: number;
  /** The confidence of each single interval: Bonferroni over the comparisons a row makes (k − 1 for k contenders). */
  testConfidence: number;
  /** Things the reader must know to read the tables (different tokenizers; output characters not recorded). */
  notes: string[];
  levels: {
    load: LoadLevel;
    rows: {
      /** `TTFT p95`, `output tok/s`… */
      metric: string;
      unit: string;
      higherIsBetter: boolean;
      test: SideBySideTest;
      /** One per contender; undefined where a contender has no such cell or value. */
      values: (SideBySideValue | undefined)[];
      /** What a missing value reads as, when not `—` (`n/a`: the results folder did not record it). */
      absent?: string;
    }[];
  }[];
}
