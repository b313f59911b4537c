/**
 * The npm package as users get it: the compiled code in dist/ (which `npm test`
 * builds first, its `pretest` script), run by plain Node with no TypeScript
 * loader, imported by the package's own name.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers.ts';

const run = promisify(execFile);
const packageJson = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

/** Runs a command in the repository with plain Node's environment: no tsx loader inherited. */
const inRepo = (file: string, args: string[]) => run(file, args, { cwd: REPO_ROOT, encoding: 'utf8' });

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageNameOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

async function compiledFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.js')).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('the npm package', () => {
  test('docs/library.md\'s example runs on the compiled package, imported by name, and measures the simulator', async () => {
    const { stdout } = await inRepo(process.execPath, [path.join('examples', 'library.mjs')]);
    const match = /^example-model concurrency=2: 8\/8 ok, TTFT p50 (\d+\.\d) ms, 30 output tokens, 3 tokens per chunk$/.exec(stdout.trim());
    assert.ok(match, stdout);
    // The simulator waits ttftMs: 20 before the first token.
    assert.ok(Number(match[1]) >= 20, stdout);
  });

  test('docs/library.md shows examples/library.mjs as it is', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'library.md'), 'utf8');
    const example = await readFile(path.join(REPO_ROOT, 'examples', 'library.mjs'), 'utf8');
    assert.ok(doc.includes(['```js', example + '```'].join('\n')), 'the example in docs/library.md differs from examples/library.mjs');
  });

  test('`tokenmeter --version` prints the package version and exits 0', async () => {
    const { stdout } = await inRepo(process.execPath, [path.join('bin', 'tokenmeter.js'), '--version']);
    assert.equal(stdout, `${packageJson.version}\n`);
  });

  test('the compiled code imports only Node built-ins, its own files and runtime dependencies', async () => {
    const files = await compiledFiles(path.join(REPO_ROOT, 'dist'));
    assert.ok(files.length > 50, 'dist/ is built');
    const imported = new Set<string>();
    for (const file of files) {
      const code = await readFile(file, 'utf8');
      // Import and re-export statements (tsc starts each on its own line), bare imports, dynamic imports.
      const statements = /^(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
      for (const match of code.matchAll(statements)) {
        const specifier = match[1] ?? match[2] ?? match[3]!;
        if (!specifier.startsWith('.') && !specifier.startsWith('node:')) imported.add(packageNameOf(specifier));
      }
    }
    const allowed = new Set([...Object.keys(packageJson.dependencies), ...builtinModules]);
    assert.deepEqual([...imported].filter((name) => !allowed.has(name)), []);
    assert.ok(imported.has('yargs') && imported.has('zod'), [...imported].join(', '));
  });

  test('npm pack ships the compiled code, the bin, the schema and the example scenarios, not the tests or sources', async () => {
    const { stdout } = await inRepo('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    const paths = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
    for (const needed of ['package.json', 'bin/tokenmeter.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/sim/worker.js', 'schema/scenario.schema.json', 'scenarios/quickstart.yaml', 'examples/library.mjs', 'docs/library.md']) {
      assert.ok(paths.includes(needed), `${needed} is shipped`);
    }
    const unwanted = paths.filter((file) => /^(src|test|bench|results|scripts|\.ci)\//.test(file) || file.endsWith('.tsbuildinfo') || (file.endsWith('.ts') && !file.endsWith('.d.ts')));
    assert.deepEqual(unwanted, []);
  });
});
