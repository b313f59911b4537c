/**
 * Every example in README.md and docs/*.md is executed: each ```yaml block is
 * loaded as a scenario (a `# fragment…` block merged over a minimal scenario
 * first; a `# not a scenario…` block, such as a GitHub Actions workflow, only
 * parsed as YAML), the `npx tokenmeter …` lines of ```sh blocks run through
 * main() where they send nothing, and every relative link resolves.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { checkTokenizerFiles } from '../../src/load/workload.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, REPO_ROOT, withTempDir } from '../helpers.ts';

const DOC_FILES = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

interface Block {
  /** `docs/ci.md:75`: the file and the line of the opening fence. */
  where: string;
  body: string;
}

/** The fenced blocks of one language, top-level fences only (```yaml at the start of a line). */
function blocks(file: string, language: string): Block[] {
  const found: Block[] = [];
  const lines = read(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```' + language) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${file}:${i + 1}: unclosed block`);
    found.push({ where: `${file}:${i + 1}`, body: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

/** What a `# fragment` block is merged over: the smallest scenario that runs on the simulator. */
const BASE_SCENARIO = {
  name: 'fragment',
  target: { baseURL: 'builtin' },
  models: ['Meta-Llama-3.3-70B-Instruct'],
  load: { concurrency: [1], requests: 4 },
  prompts: ['hi'],
};

const UNSET_VARIABLE = /: environment variable [A-Z_][A-Z0-9_]* is not set \(run refuses it\)$/;

/**
 * Loads a block as `validate` does (an unset ${VAR} a warning), as if it were
 * a file in scenarios/, so relative prompt and tokenizer paths resolve as in
 * the example scenarios.
 */
async function validateBlock(block: Block, text: string): Promise<void> {
  const warnings: string[] = [];
  const file = path.join(REPO_ROOT, 'scenarios', `${block.where.replace(/[/:.]/g, '-')}.yaml`);
  const scenario = parseScenario(text, file, {}, { unsetVariables: 'warn', onWarning: (line) => warnings.push(line) });
  await checkTokenizerFiles(scenario);
  for (const warning of warnings) assert.match(warning, UNSET_VARIABLE, `${block.where}: ${warning}`);
}

describe('every YAML example of the README and docs/ is a valid scenario', () => {
  const counts = { whole: 0, fragments: 0, notScenarios: 0 };
  for (const file of DOC_FILES) {
    for (const block of blocks(file, 'yaml')) {
      const firstLine = block.body.split('\n')[0]!;
      if (firstLine.startsWith('# not a scenario')) {
        counts.notScenarios++;
        test(`${block.where} (not a scenario) is well-formed YAML`, () => {
          assert.deepEqual(parseDocument(block.body).errors, []);
        });
      } else if (firstLine.startsWith('# fragment')) {
        counts.fragments++;
        test(`${block.where} (a fragment) is valid merged over a minimal scenario`, async () => {
          const document = parseDocument(block.body);
          assert.deepEqual(document.errors, []);
          const fragment = document.toJS() as Record<string, unknown>;
          await validateBlock(block, JSON.stringify({ ...BASE_SCENARIO, ...fragment }));
        });
      } else {
        counts.whole++;
        test(`${block.where} is a valid scenario`, () => validateBlock(block, block.body));
      }
    }
  }

  test('the README has a scenario for each of vLLM, llama.cpp, SambaNova and OpenAI, each in 10 lines or fewer', () => {
    const scenarios = blocks('README.md', 'yaml');
    assert.equal(scenarios.length, 4);
    for (const [i, provider] of ['vllm', 'llamacpp', 'sambanova', 'openai'].entries()) {
      assert.match(scenarios[i]!.body, new RegExp(`provider: ${provider}\\b`), scenarios[i]!.where);
      assert.ok(scenarios[i]!.body.split('\n').length <= 10, scenarios[i]!.where);
    }
  });

  test('examples were found: whole scenarios, fragments (merged), and non-scenarios (parsed only)', (t) => {
    t.diagnostic(`${counts.whole} whole scenarios, ${counts.fragments} fragments, ${counts.notScenarios} not scenarios`);
    assert.ok(counts.whole >= 5 && counts.fragments >= 3 && counts.notScenarios >= 1, JSON.stringify(counts));
  });
});

/** `npx tokenmeter validate scenarios/*.yaml` → ['validate', 'scenarios/a.yaml', …], paths from the repository root. */
function commandArgs(line: string): string[] {
  const words = line.replace(/\s+#.*$/, '').trim().split(/\s+/).slice(2);
  return words.flatMap((word) => {
    if (!word.includes('*')) return [/^[\w-]+\//.test(word) ? path.join(REPO_ROOT, word) : word];
    const dir = path.dirname(word);
    const pattern = new RegExp(`^${path.basename(word).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
    const matches = readdirSync(path.join(REPO_ROOT, dir)).filter((name) => pattern.test(name));
    assert.ok(matches.length > 0, `${word} matches no file`);
    return matches.map((name) => path.join(REPO_ROOT, dir, name));
  });
}

describe('the shell commands of the README and docs/ work as written', () => {
  const commands = DOC_FILES.flatMap((file) =>
    blocks(file, 'sh').flatMap((block) =>
      block.body
        .split('\n')
        .filter((line) => line.startsWith('npx tokenmeter '))
        .map((line) => ({ where: block.where, line })),
    ),
  );
  const ran = { help: 0, validate: 0, scenarioValidated: 0, helpOnly: 0, quickRuns: 0 };

  for (const { where, line } of commands) {
    const args = commandArgs(line);
    const [command] = args;
    test(`${where}: ${line.replace(/\s+#.*$/, '')}`, async () => {
      const io = captureIo({});
      if (args.includes('--help')) {
        ran.help++;
        assert.equal(await main(args, io), 0, io.err());
        assert.match(io.out(), /Examples:/);
      } else if (command === 'validate') {
        // Without the keys the SambaNova scenarios name: warnings, exit 0.
        ran.validate++;
        assert.equal(await main(args, io), 0, io.err());
        const files = args.slice(1, args.includes('--set') ? args.indexOf('--set') : undefined);
        if (files.some((file) => file.includes('sambanova'))) assert.match(io.err(), /^warning: .*environment variable SAMBANOVA_API_KEY is not set/m);
        assert.equal(io.out().trim().split('\n').length, files.length);
      } else if (command === 'run' && args.includes('--base-url')) {
        // A run from flags alone: on the built-in simulator it runs (into a temporary folder); against a
        // server that is not there its flags must parse into a valid scenario, which the preflight then finds unreachable.
        ran.quickRuns++;
        // The variable an --api-key-env names is set, as the reader would have it.
        const keyed = captureIo({ MY_KEY: 'sk-docs-example' });
        await withTempDir(async (dir) => {
          const code = await main([...args, '--out', path.join(dir, 'out'), ...NOT_ABOUT_CLIENT_HEALTH], keyed);
          if (args[args.indexOf('--base-url') + 1] === 'builtin') assert.equal(code, 0, keyed.err());
          else {
            assert.equal(code, 1, keyed.err());
            assert.match(keyed.err(), /the preflight request to .* failed with connection: /);
            assert.ok(!keyed.err().includes('sk-docs-example'));
          }
        });
      } else if (command === 'run' || command === 'capacity' || command === 'sweep') {
        // It would send load (to a real server, or for tens of seconds): its scenario is validated instead.
        ran.scenarioValidated++;
        const scenario = args[1]!;
        assert.ok(existsSync(scenario), `${scenario} does not exist`);
        assert.equal(await main(['validate', scenario], io), 0, io.err());
      } else if (command === 'check' || command === 'compare' || command === 'merge' || command === 'report' || command === 'sim') {
        // They need results folders (placeholders here) or serve until stopped: their --help runs instead.
        ran.helpOnly++;
        assert.equal(await main([command, '--help'], io), 0, io.err());
        if (command === 'report') assert.match(path.basename(args[1]!), /^\d{8}T\d{6}Z-[\w.-]+$/, 'a results folder named as run names them');
      } else {
        assert.fail(`no rule for: ${line}`);
      }
    });
  }

  test('every command of the README was tried', (t) => {
    t.diagnostic(JSON.stringify(ran));
    const readmeCommands = commands.filter(({ where }) => where.startsWith('README.md')).map(({ line }) => line.split(/\s+/)[2]);
    assert.deepEqual([...new Set(readmeCommands)].sort(), ['capacity', 'check', 'compare', 'merge', 'report', 'run', 'sim', 'sweep', 'validate']);
    assert.ok(ran.validate >= 1 && ran.help >= 1);
  });

  test("the README's two set-up commands are package.json's scripts", () => {
    const setup = blocks('README.md', 'sh')[0]!.body;
    assert.match(setup, /^npm ci && npm run quickstart +#/m);
    assert.match(setup, /^npm test +#/m);
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    assert.match(scripts.quickstart!, /\brun scenarios\/quickstart\.yaml$/);
    assert.ok(existsSync(path.join(REPO_ROOT, 'scenarios', 'quickstart.yaml')));
    assert.ok(scripts.test);
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const headings = markdown.split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((h) => h.replace(/^#+ /, '').toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

describe('the README and docs/ link only to what a clone has', () => {
  for (const file of DOC_FILES) {
    test(`${file}: every relative link and anchor resolves, none leaves the repository`, () => {
      const text = read(file);
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((link) => !/^https?:/.test(link));
      for (const link of links) {
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const resolved = target === '' ? path.join(REPO_ROOT, file) : path.resolve(path.dirname(path.join(REPO_ROOT, file)), target);
        assert.ok(resolved.startsWith(REPO_ROOT + path.sep), `${file}: ${link} leaves the repository`);
        assert.ok(existsSync(resolved), `${file}: ${link} does not exist`);
        if (anchor !== undefined && resolved.endsWith('.md')) {
          assert.ok(anchors(readFileSync(resolved, 'utf8')).has(anchor), `${file}: ${link}: no such heading`);
        }
      }
    });
  }

  test('the README stays a five-minute read', () => {
    assert.ok(read('README.md').split('\n').length <= 200);
  });
});
