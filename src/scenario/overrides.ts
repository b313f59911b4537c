/**
 * `--set PATH=VALUE`: one field of a scenario, changed from the command line
 * before validation, so the schema checks the result as if the file said it.
 *
 * The path grammar (a dot path as error messages print it):
 *
 *   path    = key ( "." key | "[" index "]" | "[" quoted "]" )*
 *   key     = 1*( ALPHA / DIGIT / "_" / "-" / "$" )
 *   index   = 1*DIGIT
 *   quoted  = DQUOTE 1*( any character but DQUOTE ) DQUOTE   ; a key with dots: models["org/x.y"]
 *
 * VALUE is parsed as YAML: `200` is a number, `[1, 4]` a list, `30s` a string,
 * and an empty value or `null` removes the field (so `--set load.concurrency=`
 * then `--set load.rate=2` turns a closed loop into an open one).
 */
import { parse } from 'yaml';

/** One path step: a mapping key or a list index. */
export type PathStep = string | number;

/** A parsed `--set`: where, what, and the text as given (for messages). */
export interface Override {
  /** The text after `--set`, as typed: `load.requests=200`. */
  source: string;
  path: PathStep[];
  /** The value parsed as YAML; `undefined` removes the field. */
  value: unknown;
}

/** Where a field of the raw scenario came from, for messages: `--set load.requests=200`, `--concurrency 1,8`. */
export interface FieldOrigin {
  path: readonly PathStep[];
  label: string;
}

const KEY = /^[A-Za-z0-9_$-]+/;

/** Parses a path such as `models[0].tokenizer`; a string says what is wrong with it. */
export function parsePath(text: string): PathStep[] | string {
  const steps: PathStep[] = [];
  let rest = text;
  let first = true;
  while (rest !== '') {
    if (rest.startsWith('[')) {
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\["([^"]+)"\]/.exec(rest);
      const match = index ?? quoted;
      if (!match) return `"${rest}" is not [index] or ["key"]`;
      steps.push(index ? Number(index[1]) : match[1]!);
      rest = rest.slice(match[0].length);
    } else {
      if (!first) {
        if (!rest.startsWith('.')) return `expected "." or "[" before "${rest}"`;
        rest = rest.slice(1);
      }
      const key = KEY.exec(rest);
      if (!key) return rest === '' ? 'ends with "."' : `"${rest}" does not start with a key (letters, digits, _, -)`;
      steps.push(key[0]);
      rest = rest.slice(key[0].length);
    }
    first = false;
  }
  if (steps.length === 0) return 'the path is empty';
  if (typeof steps[0] === 'number') return 'must start with a field name';
  return steps;
}

/** `--set load.requests=200` → an Override; a string says what is wrong (the caller names the `--set`). */
export function parseOverride(source: string): Override | string {
  const equals = source.indexOf('=');
  if (equals < 0) return 'must be PATH=VALUE, e.g. load.requests=200';
  const path = parsePath(source.slice(0, equals).trim());
  if (typeof path === 'string') return `the path ${path}`;
  let value: unknown;
  try {
    value = parse(source.slice(equals + 1));
  } catch (error) {
    return `the value is not valid YAML: ${(error as Error).message.split('\n')[0]}`;
  }
  return { source, path, value: value === null ? undefined : value };
}

/** `load.concurrency[1]` from steps, as formatPath prints zod paths. */
function pathText(path: readonly PathStep[]): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : /^[A-Za-z0-9_$-]+$/.test(step) ? `${i === 0 ? '' : '.'}${step}` : `["${step}"]`)).join('');
}

const isMapping = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A copy of `raw` (a parsed scenario file) with every `--set` applied in order,
 * and the problems of those that cannot apply, each naming its `--set`.
 * Missing mappings on the way are created; a list index may be at most the
 * list's length (which appends). A model written as a bare name becomes
 * `{name}` when a `--set` reaches inside it (`models[0].tokenizer=llama3`).
 */
export function applyOverrides(raw: Record<string, unknown>, sources: readonly string[]): { value: Record<string, unknown>; problems: string[]; origins: FieldOrigin[] } {
  const value = structuredClone(raw);
  const problems: string[] = [];
  const origins: FieldOrigin[] = [];
  for (const source of sources) {
    // Messages show a secret's --set without its value, as run.json does.
    const label = `--set ${redactOverride(source)}`;
    const override = parseOverride(source);
    if (typeof override === 'string') {
      problems.push(`${label}: ${override}`);
      continue;
    }
    const problem = setAt(value, override.path, override.value);
    if (problem !== undefined) problems.push(`${label}: ${problem}`);
    else origins.push({ path: override.path, label });
  }
  return { value, problems, origins };
}

function setAt(root: Record<string, unknown>, path: readonly PathStep[], value: unknown): string | undefined {
  let container: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    const last = i === path.length - 1;
    const where = pathText(path.slice(0, i)) || '(top level)';
    if (typeof step === 'number') {
      if (!Array.isArray(container)) return `${where} is ${describe(container)}, not a list: ${pathText(path.slice(0, i + 1))} cannot be set`;
      if (step > container.length) return `${where} has ${container.length} item(s): index ${step} is beyond its end`;
      if (last) {
        if (value === undefined) container.splice(step, 1);
        else container[step] = value;
        return undefined;
      }
      container[step] = childFor(container[step], path, i);
      container = container[step];
    } else {
      if (!isMapping(container)) return `${where} is ${describe(container)}, not a mapping: ${pathText(path.slice(0, i + 1))} cannot be set`;
      if (last) {
        if (value === undefined) delete container[step];
        else container[step] = value;
        return undefined;
      }
      container[step] = childFor(container[step], path, i);
      container = container[step];
    }
  }
  return undefined;
}

/** The container the next step goes into: created when missing, a bare model name made `{name}`. */
function childFor(current: unknown, path: readonly PathStep[], i: number): unknown {
  if (current === undefined) return typeof path[i + 1] === 'number' ? [] : {};
  if (typeof current === 'string' && i === 1 && path[0] === 'models') return { name: current };
  return current;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'not set';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value} (${JSON.stringify(value)})`;
}

const startsWith = (path: readonly PathStep[], prefix: readonly PathStep[]): boolean =>
  prefix.length <= path.length && prefix.every((step, i) => path[i] === step);

/**
 * What to add to a problem at `path`: the flag or `--set` that wrote it or a
 * mapping around it (the last such), else those that wrote inside it (a
 * mapping-wide rule such as "exactly one of concurrency or rate").
 */
export function originNote(path: readonly PropertyKey[], origins: readonly FieldOrigin[]): string {
  if (path.length === 0) return '';
  const steps = path as readonly PathStep[];
  const around = origins.filter((origin) => startsWith(steps, origin.path));
  const inside = origins.filter((origin) => origin.path.length > steps.length && startsWith(origin.path, steps));
  const labels = around.length > 0 ? [around.at(-1)!.label] : [...new Set(inside.map((origin) => origin.label))];
  return labels.length === 0 ? '' : ` (from ${labels.join(', ')})`;
}

/** Fields whose value is a secret: a `--set` that writes them or around them is redacted wherever it is recorded. */
const SECRET_PATHS: readonly PathStep[][] = [
  ['target', 'apiKey'],
  ['target', 'headers'],
];

/** Whether a `--set` at `path` writes a secret field or a mapping that holds one. */
export function touchesSecret(path: readonly PathStep[]): boolean {
  return SECRET_PATHS.some((secret) => startsWith(secret, path) || startsWith(path, secret));
}

/** `--set` text as run.json, the recorded argv and messages show it: the value of one that touches a secret is `[redacted]`. */
export function redactOverride(source: string): string {
  const equals = source.indexOf('=');
  if (equals < 0) return source;
  const pathSource = source.slice(0, equals).trim();
  const path = parsePath(pathSource);
  // A path that does not parse may still have meant a secret field.
  const secret = typeof path === 'string' ? /apikey|header|^target/i.test(pathSource) : touchesSecret(path);
  return secret ? `${source.slice(0, equals)}=[redacted]` : source;
}
