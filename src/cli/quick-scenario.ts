/**
 * `tokenmeter run --base-url URL --model M --concurrency 1,8 --requests 64`:
 * a scenario from flags, built as the raw object a file would hold and
 * checked by the same schema and normalization (scenario/load.ts), so every
 * default and every rule of a file applies. Problems name the flag.
 */
import { loadScenario, validateScenario, type ScenarioOptions } from '../scenario/load.js';
import { redactOverride, type FieldOrigin, type PathStep } from '../scenario/overrides.js';
import type { Scenario } from '../types.js';
import { UsageError } from './exit-codes.js';

/** The quick scenario's name (and so its results folder's suffix). */
export const QUICK_SCENARIO_NAME = 'quick';
/** What `scenario.file` and messages say for a scenario built from flags. */
export const QUICK_SCENARIO_FILE = '(command line)';
/** The prompt sent when `--prompt` is not given. */
export const DEFAULT_QUICK_PROMPT = 'Write a short story about a lighthouse keeper who finds a message in a bottle.';
/** Output cap per request when `--max-tokens` is not given, tokens. */
export const DEFAULT_QUICK_MAX_TOKENS = 256;
/** Measured requests per cell when neither `--requests` nor `--duration` is given. */
export const DEFAULT_QUICK_REQUESTS = 32;
/** The model asked for on the built-in simulator when `--model` is not given (it answers any name). */
export const DEFAULT_BUILTIN_MODEL = 'sim-model';

/** The flags of a quick run, as typed (lists from repeated flags). */
export interface QuickFlags {
  baseUrl?: string;
  model?: string[];
  concurrency?: string;
  rate?: string;
  requests?: string;
  duration?: string;
  api?: string;
  provider?: string;
  apiKeyEnv?: string;
  prompt?: string[];
  maxTokens?: string;
}

/** The flag each QuickFlags field is typed as, for messages. */
const FLAG_NAMES: Record<keyof QuickFlags, string> = {
  baseUrl: '--base-url',
  model: '--model',
  concurrency: '--concurrency',
  rate: '--rate',
  requests: '--requests',
  duration: '--duration',
  api: '--api',
  provider: '--provider',
  apiKeyEnv: '--api-key-env',
  prompt: '--prompt',
  maxTokens: '--max-tokens',
};

/** Whether any quick-run flag was given. */
export function hasQuickFlags(flags: QuickFlags): boolean {
  return Object.values(flags).some((value) => value !== undefined && !(Array.isArray(value) && value.length === 0));
}

/** A number as typed stays a number for the schema to judge; anything else stays text, which the schema names. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** `1,8` → [1, 8]; `4` → 4 (a single level, as a file may write it). */
function levelsOf(text: string): number | string | (number | string)[] {
  const items = text.split(',').map(numberOrText);
  return items.length === 1 ? items[0]! : items;
}

/**
 * The raw scenario (the shape of a parsed file) that the flags describe, and
 * where each field came from. Throws UsageError for flag combinations no file could mean.
 */
export function quickScenarioObject(flags: QuickFlags): { raw: Record<string, unknown>; origins: FieldOrigin[] } {
  const origins: FieldOrigin[] = [];
  const from = (path: PathStep[], key: keyof QuickFlags, shown: string): void => {
    origins.push({ path, label: `${FLAG_NAMES[key]} ${shown}` });
  };
  if (flags.baseUrl === undefined) throw new UsageError('a quick run needs --base-url (an http(s) URL ending in /v1, or builtin for the built-in simulator)');
  if (flags.concurrency !== undefined && flags.rate !== undefined) {
    throw new UsageError('--concurrency (closed loop) and --rate (open loop) exclude each other: give one');
  }
  const builtin = flags.baseUrl === 'builtin';
  const models = flags.model ?? [];
  if (models.length === 0 && !builtin) throw new UsageError('--model is required with --base-url (repeat it to compare models)');

  const target: Record<string, unknown> = { baseURL: flags.baseUrl };
  from(['target', 'baseURL'], 'baseUrl', flags.baseUrl);
  if (flags.api !== undefined) {
    target.api = flags.api;
    from(['target', 'api'], 'api', flags.api);
  }
  if (flags.provider !== undefined) {
    target.provider = flags.provider;
    from(['target', 'provider'], 'provider', flags.provider);
  }
  if (flags.apiKeyEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(flags.apiKeyEnv)) {
      throw new UsageError("--api-key-env must name an environment variable (letters, digits, _): the key itself never goes on the command line");
    }
    // The same ${VAR} a file would write: read at load time, redacted in run.json, never in argv.
    target.apiKey = `\${${flags.apiKeyEnv}}`;
    from(['target', 'apiKey'], 'apiKeyEnv', flags.apiKeyEnv);
  }

  const load: Record<string, unknown> = {};
  if (flags.rate !== undefined) {
    load.rate = levelsOf(flags.rate);
    from(['load', 'rate'], 'rate', flags.rate);
  } else {
    load.concurrency = flags.concurrency === undefined ? 1 : levelsOf(flags.concurrency);
    if (flags.concurrency !== undefined) from(['load', 'concurrency'], 'concurrency', flags.concurrency);
  }
  if (flags.requests !== undefined) {
    load.requests = numberOrText(flags.requests);
    from(['load', 'requests'], 'requests', flags.requests);
  } else if (flags.duration === undefined) {
    load.requests = DEFAULT_QUICK_REQUESTS;
  }
  if (flags.duration !== undefined) {
    load.duration = numberOrText(flags.duration);
    from(['load', 'duration'], 'duration', flags.duration);
  }

  if (flags.prompt?.some((prompt) => prompt.trim() === '')) throw new UsageError('--prompt must not be empty');
  const maxTokens = flags.maxTokens === undefined ? DEFAULT_QUICK_MAX_TOKENS : numberOrText(flags.maxTokens);
  const prompts = (flags.prompt ?? [DEFAULT_QUICK_PROMPT]).map((content) => ({ messages: [{ role: 'user', content }], max_tokens: maxTokens }));
  prompts.forEach((_prompt, i) => {
    if (flags.prompt !== undefined) from(['prompts', i, 'messages', 0, 'content'], 'prompt', JSON.stringify(flags.prompt[i]));
    if (flags.maxTokens !== undefined) from(['prompts', i, 'max_tokens'], 'maxTokens', flags.maxTokens);
  });
  if (flags.model !== undefined) models.forEach((model, i) => from(['models', i], 'model', model));

  const raw = { name: QUICK_SCENARIO_NAME, target, models: models.length > 0 ? models : [DEFAULT_BUILTIN_MODEL], load, prompts };
  return { raw, origins };
}

/** What `run`, `capacity` and `validate` take to find their scenario: a file, or quick-run flags; and `--set` overrides. */
export interface ScenarioSource {
  /** The scenario file; absent for a quick run. */
  scenario?: string;
  quick?: QuickFlags;
  /** `--set PATH=VALUE`, in order. */
  set?: string[];
  /** How many processes (shards) and threads (`--workers`) share the load: the soft limits are per thread. */
  readers?: Pick<ScenarioOptions, 'shards' | 'workers'>;
}

/** The scenario a command runs: a file (with its `--set`s), or one built from quick-run flags (with theirs). */
export async function scenarioFromArgs(source: ScenarioSource, env: NodeJS.ProcessEnv): Promise<Scenario> {
  const overrides = source.set ?? [];
  const quick = source.quick !== undefined && hasQuickFlags(source.quick);
  if (source.scenario !== undefined) {
    if (quick) {
      const given = (Object.keys(FLAG_NAMES) as (keyof QuickFlags)[]).filter((key) => source.quick![key] !== undefined).map((key) => FLAG_NAMES[key]);
      throw new UsageError(`${given.join(', ')}: only for a quick run, without a scenario file; to change ${source.scenario}, use --set (e.g. --set load.requests=64)`);
    }
    return loadScenario(source.scenario, env, { overrides, ...source.readers });
  }
  if (!quick) throw new UsageError('name a scenario file, or give --base-url and --model for a quick run (see run --help)');
  const { raw, origins } = quickScenarioObject(source.quick!);
  return validateScenario(raw, QUICK_SCENARIO_FILE, env, { overrides, origins, ...source.readers });
}

/** The command line as run.json records it: the value of a `--set` that touches a secret is `[redacted]`. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    if (arg.startsWith('--set=')) return `--set=${redactOverride(arg.slice('--set='.length))}`;
    return argv[i - 1] === '--set' ? redactOverride(arg) : arg;
  });
}
