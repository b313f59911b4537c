/** What the adapters share: the request-id header, the SDK settings, logprob texts, the server's own timings (usage block, llama.cpp). */
import type { Usage } from '../../types.js';
import type { ServerTimings, SdkConnection } from '../api-adapter.js';

/** Header that carries the request id, so a server log (or the simulator) can match it. */
export const REQUEST_ID_HEADER = 'x-tokenmeter-request-id';

/**
 * Settings every SDK client gets. The SDKs only describe requests now
 * (sdk-sender.ts sends them), but what they describe follows these: the key
 * and the scenario's headers; a timeout far beyond tokenmeter's own (it is
 * announced in a header); `maxRetries: 0` and the timed fetch, so that
 * anything an SDK ever sent itself would be measured, never retried.
 */
export function sdkSettings(connection: SdkConnection) {
  return {
    apiKey: connection.apiKey,
    maxRetries: 0,
    timeout: 24 * 3600 * 1000,
    fetch: connection.fetch,
    defaultHeaders: connection.headers,
  };
}

/**
 * The scenario's parameters apart from its `stream_options`, which only chat
 * and completions take (with include_usage added); the others drop it.
 */
export function splitStreamOptions(params: Record<string, unknown>): { params: Record<string, unknown>; streamOptions: unknown } {
  const { stream_options: streamOptions, ...rest } = params;
  return { params: rest, streamOptions };
}

/** The scenario's `stream_options` with `include_usage: true`, so the usage block always comes. */
export const withUsage = (streamOptions: unknown) => Object.assign({}, streamOptions, { include_usage: true });

/**
 * Timings a server reports in its final usage block, in seconds: SambaNova's
 * `time_to_first_token` and `total_latency`. Read on every API, since the
 * usage block keeps whatever fields the server sent.
 */
export function usageBlockTimings(usage: Usage): ServerTimings {
  const timings: ServerTimings = {};
  const ttftS = nonNegative(usage.time_to_first_token);
  const e2eS = nonNegative(usage.total_latency);
  if (ttftS !== undefined) timings.ttftMs = ttftS * 1000;
  if (e2eS !== undefined) timings.e2eMs = e2eS * 1000;
  return timings;
}

/**
 * The token texts of one chunk's logprob entries, joined: chat's and
 * Responses' `{token}` objects, or legacy completions' strings; undefined when an entry
 * has none, so the entries cannot be checked against the chunk's text.
 */
export function logprobTexts(entries: unknown[]): string | undefined {
  let text = '';
  for (const entry of entries) {
    const token = typeof entry === 'string' ? entry : entry !== null && typeof entry === 'object' ? (entry as { token?: unknown }).token : undefined;
    if (typeof token !== 'string') return undefined;
    text += token;
  }
  return text;
}

/**
 * llama.cpp's `timings` object on its final chunk (tools/server: `prompt_n`,
 * `prompt_ms`, `predicted_n`, `predicted_ms`, `predicted_per_token_ms`, …, in
 * ms): the server's TTFT is about its prompt processing time, its E2E that
 * plus its decode time. Queueing before the prompt is processed is in neither.
 */
export function llamaCppTimings(timings: Record<string, unknown>): ServerTimings {
  const promptMs = nonNegative(timings.prompt_ms);
  const predictedMs = nonNegative(timings.predicted_ms);
  const result: ServerTimings = {};
  if (promptMs !== undefined) result.ttftMs = promptMs;
  if (promptMs !== undefined && predictedMs !== undefined) result.e2eMs = promptMs + predictedMs;
  return result;
}

/** A non-negative finite number (a duration), else undefined. */
const nonNegative = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
