/**
 * Scenario loading: read → parse (YAML or JSON) → interpolate ${VAR} →
 * validate → normalize. Every problem is collected and reported at once,
 * each with the file and its path (`scenarios/x.yaml: load.concurrency[1]: …`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { $ZodIssue } from 'zod/v4/core';
import type { Scenario } from '../types.js';
import { formatNumber } from '../util/format.js';
import { interpolateEnv } from './interpolate.js';
import { normalizeScenario } from './normalize.js';
import { PromptFileError } from './prompt-file.js';
import { TraceFileError } from './trace-file.js';
import { HF_TOKENIZER_PATTERN, LIMITS, promptsProblem, scenarioSchema, type RawScenario, sessionProblems, softLimitProblems, TOKENIZER_FILE_PATTERN } from './schema.js';
import { resolveHfTokenizer } from './hf-cache.js';
import { ScenarioError } from './errors.js';
import { roundedText } from '../util/format.js';
import { applyOverrides, originNote, redactOverride, touchesSecret, type FieldOrigin } from './overrides.js';

export { ScenarioError } from './errors.js';

/** `load.concurrency[1]`, `target.apiKey`, or `(top level)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text === '' ? '(top level)' : text;
}

/** How a scenario is changed or was made before validation, and how loading treats an unset `${VAR}`. */
export interface ScenarioOptions {
  /** `--set PATH=VALUE` texts, applied in order to the parsed file (src/scenario/overrides.ts). */
  overrides?: readonly string[];
  /** Where fields came from when the scenario was built from flags: problems at those paths name the flag. */
  origins?: readonly FieldOrigin[];
  /** `error` (default): an unset variable is a problem (`run` refuses it). `warn` (`validate`): it is passed to `onWarning` and read as empty, so the rest is checked. */
  unsetVariables?: 'error' | 'warn';
  /** Receives each warning as a complete line (`FILE: PATH: …`). */
  onWarning?: (line: string) => void;
  /** Shards the run is split over (`--shard i/N`): the soft limits are per reading thread. */
  shards?: number;
  /** `--workers`, when given (it wins over `load.workers`). */
  workers?: number;
}

export async function loadScenario(file: string, env: NodeJS.ProcessEnv = process.env, options: ScenarioOptions = {}): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScenarioError(file, [`${file}: cannot read the file (${code ?? (error as Error).message})`]);
  }
  return parseScenario(text, file, env, options);
}

/** Parses scenario text (YAML, of which JSON is a subset). */
export function parseScenario(text: string, file: string, env: NodeJS.ProcessEnv = process.env, options: ScenarioOptions = {}): Scenario {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (document.errors.length > 0) {
    throw new ScenarioError(
      file,
      document.errors.map((error) => {
        const position = error.linePos?.[0];
        const where = position ? `:${position.line}:${position.col}` : '';
        return `${file}${where}: ${error.message.split('\n')[0]}`;
      }),
    );
  }
  const raw = toPlainValue(document, file, lines);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError(file, [`${file}: (top level): must be a mapping with name, target, models, load and prompts`]);
  }
  return validateScenario(raw as Record<string, unknown>, file, env, options);
}

/**
 * The document as plain values. An alias may be expanded at most 100 times
 * (the yaml library's default): a "billion laughs" file of nested aliases
 * would otherwise fill the heap. It is a scenario error at the first alias.
 */
function toPlainValue(document: Document, file: string, lines: LineCounter): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    let where = '';
    visit(document, {
      Alias(_key, node) {
        const position = node.range ? lines.linePos(node.range[0]) : undefined;
        if (position) where = `:${position.line}:${position.col}`;
        return visit.BREAK;
      },
    });
    throw new ScenarioError(file, [`${file}${where}: the YAML aliases (*name) expand too far (${(error as Error).message}); write the values out`]);
  }
}

/**
 * A parsed scenario (from a file, or built from flags) → the Scenario: the
 * `--set` overrides applied, ${VAR} interpolated, the schema checked, normalized.
 * Every problem names its path, and the flag or `--set` behind it.
 */
export function validateScenario(raw: Record<string, unknown>, file: string, env: NodeJS.ProcessEnv = process.env, options: ScenarioOptions = {}): Scenario {
  const lenient = options.unsetVariables === 'warn';
  const overrides = options.overrides ?? [];
  const applied = applyOverrides(raw, overrides);
  if (applied.problems.length > 0) throw new ScenarioError(file, applied.problems.map((problem) => `${file}: ${problem}`));
  const origins = [...(options.origins ?? []), ...applied.origins];
  const at = (path: readonly PropertyKey[], message: string): string => `${file}: ${formatPath(path)}: ${message}${originNote(path, origins)}`;

  const literalKey = (applied.value as { target?: { apiKey?: unknown } }).target?.apiKey;
  if (applied.origins.some((origin) => touchesSecret(origin.path)) && typeof literalKey === 'string' && !literalKey.includes('${')) {
    // A key typed on the command line stays in the shell's history.
    throw new ScenarioError(file, [at(['target', 'apiKey'], 'must not be written on the command line: use --api-key-env VAR, or --set \'target.apiKey=${VAR}\'')]);
  }

  const { value, missing } = interpolateEnv(applied.value, env, { unsetAsEmpty: lenient });
  const builtin = (value as { target?: { baseURL?: unknown } }).target?.baseURL === 'builtin';
  // With the built-in simulator an API key is optional: an unset variable there is no problem.
  const missingProblems = missing.filter((m) => !(builtin && formatPath(m.path) === 'target.apiKey'));
  const missingByPath = new Map(missing.map((m) => [formatPath(m.path), m.variable]));
  const unset = (m: { path: (string | number)[]; variable: string }) => at(m.path, `environment variable ${m.variable} is not set`);

  const problems = lenient ? [] : missingProblems.map(unset);
  if (lenient) for (const m of missingProblems) options.onWarning?.(`${unset(m)} (run refuses it)`);
  const promptsIssue = promptsProblem(value);
  if (promptsIssue !== undefined) problems.push(at(['prompts'], promptsIssue));
  const parsed = scenarioSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of flattenIssues(parsed.error.issues)) {
      const path = formatPath(issue.path);
      const variable = missingByPath.get(path);
      if (variable === undefined) problems.push(at(issue.path, issue.message));
      // Read as empty, the field is still invalid: the warning alone would pass a file that cannot run.
      else if (lenient) problems.push(at(issue.path, `environment variable ${variable} is not set, and read as empty the value ${issue.message}`));
      // Otherwise it is already reported as a missing variable.
    }
  }
  // The threads reading the load (shards × workers, the option's or the scenario's): the soft limits scale with them.
  const readers = (options.shards ?? 1) * (options.workers ?? parsed.data?.load.workers ?? 1);
  if (parsed.success) {
    for (const problem of softLimitProblems(parsed.data.load, readers)) problems.push(at(['load', ...problem.path], problem.message));
    // The sweep's throughput probe holds its streams as a concurrency level does.
    const sweepLoad = { concurrency: parsed.data.sweep?.maxConcurrency, allowLargeLoad: parsed.data.load.allowLargeLoad };
    for (const problem of softLimitProblems(sweepLoad, readers)) problems.push(at(['sweep', 'maxConcurrency'], problem.message));
    for (const problem of sessionProblems(parsed.data, options.workers)) problems.push(at(problem.path, problem.message));
  }
  if (problems.length > 0 || !parsed.success) throw new ScenarioError(file, problems);
  let scenario: Scenario;
  try {
    scenario = normalizeScenario(parsed.data, file);
  } catch (error) {
    if (error instanceof PromptFileError) throw new ScenarioError(file, error.problems.map((problem) => at(['prompts', 'file'], problem)));
    if (error instanceof TraceFileError) {
      const where = typeof parsed.data.load.trace === 'string' ? ['load', 'trace'] : ['load', 'trace', 'file'];
      throw new ScenarioError(file, error.problems.map((problem) => at(where, problem)));
    }
    throw error;
  }
  const unreadable = scenario.models.flatMap((model, i) => {
    if (model.tokenizer === undefined) return [];
    if (HF_TOKENIZER_PATTERN.test(model.tokenizer)) {
      const cached = resolveHfTokenizer(model.tokenizer.slice('hf:'.length), env);
      if ('problem' in cached) return [at(['models', i, 'tokenizer'], cached.problem)];
      model.tokenizer = cached.file;
      return [];
    }
    // The contents are checked where tokenizers load (checkTokenizerFiles, before validate says ok and before a run).
    return TOKENIZER_FILE_PATTERN.test(model.tokenizer) && !existsSync(model.tokenizer) ? [at(['models', i, 'tokenizer'], `cannot read ${model.tokenizer}`)] : [];
  });
  // Only chat has a non-streaming path; elsewhere stream: false would be silently streamed.
  const paramSets = [{ where: ['params'], params: scenario.params }, ...scenario.models.map((m, i) => ({ where: ['models', i, 'params'], params: m.params }))];
  const unsupported =
    scenario.target.api === 'chat'
      ? []
      : paramSets.filter(({ params }) => params.stream === false).map(({ where }) => at([...where, 'stream'], 'false is supported with api: chat only'));
  const more = [...unreadable, ...unsupported, ...traceRateProblems(parsed.data.load, scenario, readers, at), ...traceSpanProblems(parsed.data.load, scenario, at), ...warmupProblems(scenario, at), ...thresholdProblems(scenario).map((problem) => `${file}: ${problem}`)];
  if (more.length > 0) throw new ScenarioError(file, more);
  if (overrides.length > 0) scenario.overrides = overrides.map(redactOverride);
  return scenario;
}

type At = (path: readonly PropertyKey[], message: string) => string;

const seconds = (ms: number): string => `${roundedText(ms / 1000)} s`;

/** Where the trace's speed-up `index` is written: load.trace.speedup[i], load.trace.speedup, or load.trace (the default 1). */
function speedupPath(raw: RawScenario['load'], index: number): PropertyKey[] {
  const speedup = typeof raw.trace === 'string' ? undefined : raw.trace?.speedup;
  return ['load', 'trace', ...(Array.isArray(speedup) ? ['speedup', index] : speedup !== undefined ? ['speedup'] : [])];
}

/** A trace's mean rates (known once it is read) past what one thread measures well: as a rate past it is. */
function traceRateProblems(raw: RawScenario['load'], scenario: Scenario, readers: number, at: At): string[] {
  if (!scenario.load.trace || raw.trace === undefined) return [];
  return softLimitProblems({ rate: scenario.load.levels, ...(raw.allowLargeLoad !== undefined ? { allowLargeLoad: raw.allowLargeLoad } : {}) }, readers).map(
    (problem) => at(speedupPath(raw, Number(problem.path[1] ?? 0)), `the trace's mean rate at this speed-up: ${problem.message}`),
  );
}

/**
 * A speed-up so slow that the trace's last line is due past LIMITS.durationMs, the longest any
 * duration of a scenario may be (a speed-up near zero makes it infinite: the cell never ends).
 */
function traceSpanProblems(raw: RawScenario['load'], scenario: Scenario, at: At): string[] {
  const trace = scenario.load.trace;
  if (!trace) return [];
  const lastMs = trace.offsetsMs[trace.offsetsMs.length - 1]!;
  // The slowest speed-up allowed, rounded up at 3 significant digits so that the one named passes.
  const scale = 10 ** (Math.floor(Math.log10(lastMs / LIMITS.durationMs)) - 2);
  const slowest = Math.ceil(lastMs / LIMITS.durationMs / scale) * scale;
  return trace.speedups.flatMap((speedup, i) =>
    lastMs / speedup > LIMITS.durationMs
      ? [at(speedupPath(raw, i), `the trace's last line (${lastMs / 1000} s) would be due ${seconds(lastMs / speedup)} after the cell starts, past the 24-day limit of any duration (Node's timers cannot wait longer): must be at least ${slowest.toPrecision(3)}`)]
      : [],
  );
}

/**
 * A warm-up that covers a whole trace or ramp: the cell would measure nothing. A trace's exactly
 * (a count of at least its lines; a time past its last line at some speed-up); a ramp's expected
 * arrivals, (from + to)/2 × over, or its length for a time.
 */
function warmupProblems(scenario: Scenario, at: At): string[] {
  const { warmup, warmupMs, trace, ramp, levels } = scenario.load;
  const written = warmup !== undefined ? `${warmup} requests` : warmupMs !== undefined ? seconds(warmupMs) : undefined;
  if (written === undefined) return [];
  const problem = (whole: string): string[] => [at(['load', 'warmup'], `a warm-up of ${written} covers ${whole}, so the cell would measure nothing: lower it`)];
  if (trace) {
    const lines = trace.offsetsMs.length;
    if (warmup !== undefined && warmup >= lines) return problem(`every line of the trace (${lines})`);
    const lastMs = trace.offsetsMs[lines - 1]!;
    const covered = trace.speedups.filter((speedup) => warmupMs !== undefined && warmupMs > lastMs / speedup);
    if (covered.length > 0) return problem(`every line of the trace at speed-up ${covered.map((speedup) => `×${speedup}`).join(', ')} (the last due at ${seconds(lastMs / covered[0]!)})`);
  }
  if (ramp) {
    const expected = ((levels[0]! + ramp.toRate) / 2) * (ramp.overMs / 1000);
    if (warmup !== undefined && warmup >= expected) return problem(`the ramp's ${expected} expected arrivals`);
    if (warmupMs !== undefined && warmupMs >= ramp.overMs) return problem(`the whole ramp (${seconds(ramp.overMs)})`);
  }
  return [];
}

/** Thresholds that could never hold as written: they name a model, load level or SLO the scenario does not have. */
function thresholdProblems(scenario: Scenario): string[] {
  const models = new Set(scenario.models.map((model) => model.name));
  return scenario.thresholds.flatMap((threshold, i) => {
    const { model, concurrency, rate, speedup } = threshold.filters;
    const where = `thresholds[${i}]: ${threshold.source}`;
    const problems: string[] = [];
    const { ramp, trace } = scenario.load;
    if (model !== undefined && !models.has(model)) problems.push(`${where}: no model "${model}" in models`);
    for (const [kind, value] of [['concurrency', concurrency], ['rate', rate]] as const) {
      if (value === undefined) continue;
      if (scenario.load.kind !== kind) problems.push(`${where}: the load is ${scenario.load.kind}, not ${kind}`);
      else if (scenario.load.levels.includes(value)) continue;
      else if (trace) {
        const rates = scenario.load.levels.map((level) => formatNumber(level)).join(', ');
        problems.push(`${where}: rate ${value} is not one of the trace's mean rates (${rates} req/s); select a trace's cell by its speed-up: {speedup=${trace.speedups[0]}}`);
      } else if (ramp) problems.push(`${where}: rate ${value} is not the ramp's starting rate (load.rate.from: ${scenario.load.levels[0]})`);
      else problems.push(`${where}: ${kind} ${value} is not one of load.${kind} (${scenario.load.levels.join(', ')})`);
    }
    if (speedup !== undefined) {
      if (!trace) problems.push(`${where}: speedup selects a replayed trace's cell, and the load has no load.trace`);
      else if (!trace.speedups.includes(speedup)) problems.push(`${where}: speedup ${speedup} is not one of load.trace.speedup (${trace.speedups.join(', ')})`);
    }
    if (threshold.metric === 'goodput' && scenario.slo.length === 0) problems.push(`${where}: goodput needs an slo (the requests that meet it)`);
    return problems;
  });
}

/**
 * Unions report "no branch matched" with the branches' own issues inside;
 * when every branch failed deep inside, show those instead of the summary.
 */
function flattenIssues(issues: readonly $ZodIssue[], prefix: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const flat: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length > 0) {
      // Prefer the one branch that got furthest (the deepest path): it is what the user meant.
      const branches = issue.errors.map((branch) => flattenIssues(branch, path));
      const depth = (branch: typeof flat) => Math.max(...branch.map((i) => i.path.length));
      const deepest = Math.max(...branches.map(depth));
      const deepestBranches = branches.filter((branch) => depth(branch) === deepest);
      // Among those, the one with the fewest problems (each unknown key one): {file, format: csv} fits
      // the file branch with one problem, the synthetic branch with a missing key and two unknown ones.
      const fewest = Math.min(...deepestBranches.map((branch) => branch.length));
      const winners = deepestBranches.filter((branch) => branch.length === fewest);
      if (deepest > path.length && winners.length === 1) {
        flat.push(...winners[0]!);
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) flat.push({ path: [...path, key], message: 'unknown key' });
      continue;
    }
    flat.push({ path, message: issue.message });
  }
  return flat;
}
