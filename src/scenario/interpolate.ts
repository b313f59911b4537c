/**
 * `${VAR}` and `${VAR:-default}` in any string of a scenario, from the
 * environment. A variable that is unset (and has no default) is a problem
 * reported at its path, unless the caller says that path may go missing.
 */

export interface MissingVariable {
  path: (string | number)[];
  variable: string;
}

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface Interpolated {
  value: unknown;
  missing: MissingVariable[];
}

/**
 * Returns a copy of `value` with every `${VAR}` replaced; strings with a missing variable become undefined,
 * or with `unsetAsEmpty` (for `validate`, which warns) take the empty string in its place.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, options: { unsetAsEmpty?: boolean } = {}): Interpolated {
  const missing: MissingVariable[] = [];
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      let unresolved = false;
      const replaced = node.replace(PATTERN, (_match, name: string, fallback: string | undefined) => {
        const found = env[name];
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        unresolved = true;
        missing.push({ path, variable: name });
        return '';
      });
      return unresolved && !options.unsetAsEmpty ? undefined : replaced;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    }
    return node;
  };
  return { value: walk(value, []), missing };
}
