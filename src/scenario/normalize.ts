import path from 'node:path';
/** Validated raw scenario → the Scenario the rest of tokenmeter uses: defaults filled, shapes unified. */
import { DEFAULT_SIM_PROFILE, type Prompt, type Scenario, type SimConfig, type SimModelProfile } from '../types.js';
import type { RawScenario, RawSimProfile } from './schema.js';

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** A tokenizer.json path is relative to the scenario file; built-in names stay as they are. */
function resolveTokenizer(tokenizer: string, file: string): string {
  return tokenizer.endsWith('.json') ? path.resolve(path.dirname(file), tokenizer) : tokenizer;
}

/** "250ms" | "30s" | "5m" | "1h" | seconds → milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value)!;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * factor;
}

export function normalizeScenario(raw: RawScenario, file: string): Scenario {
  const target = raw.target;
  const scenario: Scenario = {
    name: raw.name,
    file,
    target: {
      api: target.api ?? 'chat',
      provider: target.provider ?? 'generic',
      baseURL: target.baseURL,
      headers: target.headers ?? {},
      timeoutMs: target.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(target.timeout),
      idleTimeoutMs: target.idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT_MS : durationMs(target.idleTimeout),
      newConnectionPerRequest: target.newConnectionPerRequest ?? false,
      simulator: normalizeSimulator(target.simulator),
    },
    models: raw.models.map((model) =>
      typeof model === 'string'
        ? { name: model, params: {} }
        : { name: model.name, params: model.params ?? {}, ...(model.tokenizer ? { tokenizer: resolveTokenizer(model.tokenizer, file) } : {}) },
    ),
    load: {
      concurrency: typeof raw.load.concurrency === 'number' ? [raw.load.concurrency] : raw.load.concurrency,
      requests: raw.load.requests,
      ...(raw.load.warmup !== undefined ? { warmup: raw.load.warmup } : {}),
    },
    prompts: raw.prompts.map(
      (prompt): Prompt => (typeof prompt === 'string' ? { messages: [{ role: 'user', content: prompt }] } : prompt),
    ),
    params: raw.params ?? {},
  };
  if (target.apiKey !== undefined && target.apiKey !== '') scenario.target.apiKey = target.apiKey;
  if (raw.description !== undefined) scenario.description = raw.description;
  return scenario;
}

function normalizeSimulator(raw: NonNullable<RawScenario['target']['simulator']> | undefined): SimConfig {
  const defaults = profile(DEFAULT_SIM_PROFILE, raw?.defaults);
  const models: Record<string, SimModelProfile> = {};
  for (const [name, overrides] of Object.entries(raw?.models ?? {})) models[name] = profile(defaults, overrides);
  return { seed: raw?.seed ?? 1, defaults, models };
}

function profile(base: SimModelProfile, overrides: RawSimProfile | undefined): SimModelProfile {
  const merged = { ...base };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
