/**
 * What is known about each provider's differences from OpenAI's API, so the
 * run can warn precisely instead of guessing (`target.provider`). `generic`
 * assumes nothing.
 */
import { PROVIDER_NAMES, type ProviderName, type Scenario } from '../types.js';

export { PROVIDER_NAMES, type ProviderName };

export interface ProviderProfile {
  /** Parameters the provider accepts but ignores. */
  ignoredParams: readonly string[];
  /** Whether responses carry system_fingerprint. */
  systemFingerprint: boolean | 'unknown';
  /** The provider refuses n > 1 together with tools (HTTP 400). */
  refusesNWithTools: boolean;
}

export const PROVIDERS: Record<ProviderName, ProviderProfile> = {
  generic: { ignoredParams: [], systemFingerprint: 'unknown', refusesNWithTools: false },
  sambanova: { ignoredParams: ['presence_penalty', 'frequency_penalty'], systemFingerprint: false, refusesNWithTools: true },
  openai: { ignoredParams: [], systemFingerprint: true, refusesNWithTools: false },
  vllm: { ignoredParams: [], systemFingerprint: false, refusesNWithTools: false },
  llamacpp: { ignoredParams: [], systemFingerprint: 'unknown', refusesNWithTools: false },
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
