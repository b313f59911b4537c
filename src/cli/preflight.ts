/**
 * One request per model before any load (issue 12): a wrong key, a wrong
 * URL, a model the server does not serve or a server that is down would
 * otherwise fail every request of every cell, and the run would take its
 * whole duration to say so. A failure that no later request can escape stops
 * the run at once with the server's own message; a passing one (429, 5xx, a
 * timeout) is a warning, since load may see otherwise. Nothing of it is
 * measured or recorded.
 */
import { scenarioClient } from '../pipeline.js';
import type { ErrorClass, Scenario } from '../types.js';

/** Failures the next request would meet again: the run cannot measure anything. */
const FATAL: ReadonlySet<ErrorClass> = new Set(['auth', 'not_found', 'bad_request', 'connection']);

/** Output tokens the preflight asks for: enough to see a token, cheap on a paid API. */
const PREFLIGHT_OUTPUT_TOKENS = 16;

export interface PreflightResult {
  /** Why the run must not start (the first model that failed), with the server's message. */
  fatal?: string;
  /** Failures that do not stop the run. */
  warnings: string[];
}

/**
 * A small output cap, unless the scenario sets the output length itself (its
 * own cap, or vLLM's min_tokens/ignore_eos, which a smaller cap would contradict):
 * what the run sends, the preflight sends too.
 */
function shortAnswer(params: Record<string, unknown>, scenario: Scenario): Record<string, number> {
  const lengthKeys = ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'min_tokens', 'ignore_eos'];
  if (lengthKeys.some((key) => key in params)) return {};
  if (scenario.target.api === 'responses') return { max_output_tokens: PREFLIGHT_OUTPUT_TOKENS };
  // OpenAI's newer models refuse max_tokens on chat.
  if (scenario.target.provider === 'openai' && scenario.target.api === 'chat') return { max_completion_tokens: PREFLIGHT_OUTPUT_TOKENS };
  return { max_tokens: PREFLIGHT_OUTPUT_TOKENS };
}

/** Sends one short streamed request per model of `scenario` to `baseURL`, one after another. */
export async function preflight(scenario: Scenario, baseURL: string, secrets: readonly string[], interrupt?: AbortSignal): Promise<PreflightResult> {
  const { target } = scenario;
  // The run's own client: what the preflight meets, the load would.
  const client = scenarioClient(scenario, baseURL, { secrets });
  const warnings: string[] = [];
  try {
    for (const model of scenario.models) {
      const params = { ...scenario.params, ...model.params };
      const exchange = await client.send({
        id: `preflight-${model.name}`,
        model: model.name,
        messages: [{ role: 'user', content: 'Say OK.' }],
        params: { ...params, ...shortAnswer(params, scenario) },
        timeoutMs: target.timeoutMs,
        idleTimeoutMs: target.idleTimeoutMs,
        ...(interrupt ? { interrupt } : {}),
      });
      const error = exchange.error;
      if (!error || error.class === 'interrupted') continue;
      const what = `${error.status !== undefined ? `HTTP ${error.status} ` : ''}${error.class}: ${error.message}`;
      if (FATAL.has(error.class)) {
        return {
          fatal: `the preflight request to ${model.name} at ${baseURL} failed with ${what}; nothing was run (--no-preflight skips this check)`,
          warnings,
        };
      }
      warnings.push(`the preflight request to ${model.name} failed with ${what}; running anyway`);
    }
    return { warnings };
  } finally {
    client.close();
  }
}
