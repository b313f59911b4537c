/**
 * What is known about each provider's differences from OpenAI's API, so the
 * run can warn precisely instead of guessing (`target.provider`). `generic`
 * assumes nothing.
 */
import { PROVIDER_NAMES, type ProviderName, type Scenario, type TokenizeFormat } from '../types.js';

export { PROVIDER_NAMES, type ProviderName };

export interface ProviderProfile {
  /** Parameters the provider accepts but ignores. */
  ignoredParams: readonly string[];
  /** Whether responses carry system_fingerprint. */
  systemFingerprint: boolean | 'unknown';
  /** The provider refuses n > 1 together with tools (HTTP 400). */
  refusesNWithTools: boolean;
  /**
   * The server's tokenize endpoint format (client/tokenize-endpoint.ts), when it has one: used by
   * `tokenizer: server`, and by default for a model whose name implies no local tokenizer.
   */
  tokenizeFormat?: TokenizeFormat;
}

export const PROVIDERS: Record<ProviderName, ProviderProfile> = {
  generic: { ignoredParams: [], systemFingerprint: 'unknown', refusesNWithTools: false },
  sambanova: { ignoredParams: ['presence_penalty', 'frequency_penalty'], systemFingerprint: false, refusesNWithTools: true },
  openai: { ignoredParams: [], systemFingerprint: true, refusesNWithTools: false },
  vllm: { ignoredParams: [], systemFingerprint: false, refusesNWithTools: false, tokenizeFormat: 'vllm' },
  llamacpp: { ignoredParams: [], systemFingerprint: 'unknown', refusesNWithTools: false, tokenizeFormat: 'llamacpp' },
};

/** Warnings, once per run, for parameters the provider will not honour. */
export function providerWarnings(scenario: Scenario): string[] {
  const name = scenario.target.provider;
  const provider = PROVIDERS[name];
  const warnings = new Set<string>();
  for (const model of scenario.models) {
    const params = { ...scenario.params, ...model.params };
    for (const ignored of provider.ignoredParams) {
      if (ignored in params) warnings.add(`params.${ignored}: ${name} ignores this parameter; it has no effect on the results`);
    }
    if (provider.refusesNWithTools && typeof params.n === 'number' && params.n > 1 && params.tools !== undefined) {
      warnings.add(`${model.name}: ${name} refuses n > 1 with tools (HTTP 400); expect every request to fail`);
    }
  }
  return [...warnings];
}

/**
 * Body parameters that make the provider generate exactly `maxTokens` tokens
 * (a synthetic prompt's output length), where it accepts them:
 * - vllm: `ignore_eos` and `min_tokens` are extra sampling parameters of its
 *   OpenAI-compatible server (the built-in simulator takes both too).
 * - llamacpp: llama-server copies body fields it does not map itself into its
 *   native parameters, so `ignore_eos` works on /v1/chat/completions too;
 *   `max_tokens` becomes its `n_predict`. It has no `min_tokens`.
 * - openai rejects unknown parameters, sambanova and generic may; they get
 *   the cap alone, and a response may stop before it.
 */
export function outputLengthParams(provider: ProviderName, maxTokens: number): Record<string, unknown> {
  switch (provider) {
    case 'vllm':
      return { max_tokens: maxTokens, ignore_eos: true, min_tokens: maxTokens };
    case 'llamacpp':
      return { max_tokens: maxTokens, ignore_eos: true };
    case 'sambanova':
    case 'openai':
    case 'generic':
      return { max_tokens: maxTokens };
  }
}
