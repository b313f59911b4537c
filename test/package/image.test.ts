/**
 * The container image, without a container runtime (there is none where the
 * tests run): the Dockerfile's runtime stage installs the packed tarball with
 * deploy/install-package.sh; this test runs that script on a freshly packed
 * tarball into an empty folder, offline (from the npm cache `npm ci` filled),
 * then runs what a shard's pod runs: `tokenmeter` (the image's ENTRYPOINT,
 * found on PATH through a link as in the image) with the shards Job's args,
 * its $(NAME)s expanded from the Job's env as Kubernetes does.
 *
 * Time (.ci): about 15 s on the 2-core CI machine, most of it `npm ci` (7–10 s)
 * and the run (about 4 s); `npm pack` takes about 1 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { IContainer } from 'kubernetes-models/v1';
import { mergeJob, shardsJob } from '../deploy/manifests.ts';
import { readRequests, REPO_ROOT } from '../helpers.ts';

const run = promisify(execFile);
const packageJson = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What a pod of the Job would be given, made up here: the run's ConfigMap and the Secret. */
const RUN = 'image-test';
const API_KEY = 'sk-0f1e2d3c4b5a69788796a5b4';

/** A short closed-loop cell on the built-in simulator, time-bounded as sharded runs need. */
const SCENARIO = `name: image-test
target:
  baseURL: builtin
  apiKey: \${SAMBANOVA_API_KEY}
  simulator:
    seed: 14
    defaults: {ttftMs: 20, tokensPerSecond: 400, tokensPerChunk: [1, 3], outputTokens: 16, capacity: 8}
models: [sim-model]
load:
  concurrency: [2]
  duration: 1s
  warmup: 2
  # The Job's args are run as they are, so the test's client-health allowance (NOT_ABOUT_CLIENT_HEALTH) is here:
  # this busy machine must not make the cell invalid.
  maxClientLag: 60s
  maxClientUtilization: 1
  # The test's start time is "now", and the process takes a moment to start: that lateness is no finding here.
  maxStartOffset: 60s
prompts: ["Why is the sky blue?"]
params: {max_tokens: 32}
`;

/** Kubernetes' expansion of `$(NAME)` in args: a defined variable's value, `$$` → `$`, anything else as written. */
const expand = (text: string, env: Record<string, string>): string =>
  text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? whole)));

/** A path in the pod → the same path in the test's folders, by the container's mounts. */
function localPath(podPath: string, container: IContainer, local: Record<string, string>): string {
  for (const mount of container.volumeMounts ?? []) {
    if (podPath === mount.mountPath || podPath.startsWith(mount.mountPath + '/')) return local[mount.name]! + podPath.slice(mount.mountPath.length);
  }
  return podPath;
}

/**
 * The container's environment as a pod of index INDEX gets it: literals as
 * written, the completion index from the Job, ConfigMap and Secret keys from CONFIG.
 */
function podEnv(container: IContainer, index: number, config: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    const value =
      variable.value !== undefined ? expand(variable.value, env)
      : from?.fieldRef?.fieldPath === "metadata.annotations['batch.kubernetes.io/job-completion-index']" ? String(index)
      : from?.configMapKeyRef ? config[`${from.configMapKeyRef.name}/${from.configMapKeyRef.key}`]
      : from?.secretKeyRef ? config[`${from.secretKeyRef.name}/${from.secretKeyRef.key}`]
      : undefined;
    assert.ok(value !== undefined, `no value for ${variable.name}`);
    env[variable.name] = value;
  }
  return env;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('the container image, as the Dockerfile builds it and the Job runs it', () => {
  let dir: string;
  /** Where the runtime stage's install went: the image's /opt/tokenmeter. */
  let app: string;
  /** The image's /usr/local/bin: `tokenmeter`, linked to the package's bin. */
  let binDir: string;
  let installSeconds: number;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tokenmeter-image-'));
    app = path.join(dir, 'opt', 'tokenmeter');
    binDir = path.join(dir, 'usr-local-bin');
    assert.ok(existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js')), 'dist/ is built (npm test builds it first)');
    // As the Dockerfile's build stage: dist/ built, then packed.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, encoding: 'utf8' });
    const tarball = path.join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    const started = performance.now();
    await run('sh', [path.join(REPO_ROOT, 'deploy', 'install-package.sh'), tarball, path.join(REPO_ROOT, 'package-lock.json'), app, '--offline'], {
      encoding: 'utf8',
    });
    installSeconds = (performance.now() - started) / 1000;
    await mkdir(binDir);
    await symlink(path.join(app, 'bin', 'tokenmeter.js'), path.join(binDir, 'tokenmeter'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  test('the runtime install holds every production dependency and no dev dependency: no bundled Chromium, no TypeScript', async (t) => {
    t.diagnostic(`deploy/install-package.sh (npm ci --omit=dev --offline) took ${installSeconds.toFixed(1)} s`);
    const installed = JSON.parse(await readFile(path.join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const names = new Set(Object.keys(installed.packages).map((key) => key.replace(/^.*node_modules\//, '')));
    assert.deepEqual(Object.keys(packageJson.dependencies).filter((name) => !names.has(name)), []);
    assert.deepEqual(Object.keys(packageJson.devDependencies).filter((name) => names.has(name)), []);
    for (const unwanted of ['@sparticuz/chromium', 'puppeteer-core', 'puppeteer', 'typescript', 'tsx', 'esbuild']) assert.ok(!names.has(unwanted), unwanted);
    assert.ok(existsSync(path.join(app, 'dist', 'cli', 'main.js')));
    assert.ok(!existsSync(path.join(app, 'src')), 'no TypeScript sources in the image');
  });

  test('no production dependency has an install script (the install runs with --ignore-scripts)', async () => {
    const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const scripted = Object.entries(lock.packages).filter(([key, entry]) => key !== '' && !entry.dev && entry.hasInstallScript);
    assert.deepEqual(scripted.map(([key]) => key), []);
  });

  test("the shards Job's command runs the scenario on the simulator and writes a results folder with its report", async (t) => {
    const container = shardsJob().spec!.template.spec!.containers[0]!;
    const local = { scenario: path.join(dir, 'etc-tokenmeter'), results: path.join(dir, 'results') };
    await mkdir(local.scenario);
    await mkdir(local.results);
    await writeFile(path.join(local.scenario, 'scenario.yaml'), SCENARIO);
    const env = podEnv(container, 0, {
      'tokenmeter-run/run': RUN,
      'tokenmeter-run/startAt': new Date().toISOString(),
      'tokenmeter-api-key/SAMBANOVA_API_KEY': API_KEY,
    });
    // One shard of one: the whole cell, so that the counts below are the run's (the Job says 4).
    env.TOKENMETER_SHARDS = '1';
    const args = (container.args ?? []).map((arg) => localPath(expand(arg, env), container, local));
    assert.deepEqual(args, ['run', path.join(local.scenario, 'scenario.yaml'), '--out', path.join(local.results, RUN, 'shard-0')]);

    const started = performance.now();
    // The image's environment: its PATH (node, and the link to tokenmeter) and the pod's env, nothing else.
    const { stdout, stderr } = await run('tokenmeter', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: [binDir, path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter), HOME: dir, ...env },
    });
    t.diagnostic(`the run took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.match(stderr, new RegExp(`^tokenmeter ${packageJson.version.replace(/\./g, '\\.')}: image-test → http://127\\.0\\.0\\.1:\\d+/v1; writing `, 'm'));
    assert.match(stdout, /^sim-model +c=2 +(\d+)\/\1 +0 /m);

    const out = path.join(local.results, RUN, 'shard-0');
    const files = (await filesUnder(out)).map((file) => path.relative(out, file)).sort();
    assert.deepEqual(files, ['histograms.csv', 'histograms.json', 'report.html', 'requests.jsonl', 'run.json', 'summary.csv', 'summary.json']);
    const requests = await readRequests(out);
    assert.ok(requests.length >= 4, `${requests.length} requests`);
    assert.deepEqual(requests.filter((record) => record.outcome !== 'ok'), []);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as { cells: { model: string; ok: number; errors: number }[] };
    assert.deepEqual(summary.cells.map((cell) => [cell.model, cell.errors]), [['sim-model', 0]]);
    // The report's charts are SVG made in Node: no browser in the image, none needed.
    assert.match(await readFile(path.join(out, 'report.html'), 'utf8'), /<svg/);
    for (const file of await filesUnder(out)) assert.ok(!(await readFile(file, 'utf8')).includes(API_KEY), `${file} holds the API key`);
    // The pod's index and shard count came from the environment, as a Job sets them.
    const runJson = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) as { shard: { index: number; count: number; start_at: string } };
    assert.deepEqual([runJson.shard.index, runJson.shard.count, runJson.shard.start_at], [0, 1, env.TOKENMETER_START_AT]);
  });

  test(
    "the merge Job's command merges the shard folders into /results/RUN/merged",
    async () => {
      const container = mergeJob().spec!.template.spec!.containers[0]!;
      const local = { results: path.join(dir, 'results') };
      assert.ok(existsSync(path.join(local.results, RUN, 'shard-0', 'summary.json')), 'the shard test ran first');
      const env = podEnv(container, 0, { 'tokenmeter-run/run': RUN });
      // The script is the shell's: only its paths are moved to the test's folders.
      const script = container.args![0]!.replaceAll('/results/', `${local.results}/`);
      await run(container.command![0]!, [...container.command!.slice(1), script], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: [binDir, path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter), HOME: dir, ...env },
      });
      assert.ok(existsSync(path.join(local.results, RUN, 'merged', 'summary.json')));
    },
  );
});

describe('the Dockerfile', () => {
  const read = (file: string) => readFile(path.join(REPO_ROOT, file), 'utf8');

  test('two stages on node:20-slim; the runtime stage installs with deploy/install-package.sh, as a non-root user, ENTRYPOINT tokenmeter', async () => {
    const dockerfile = await read('Dockerfile');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-slim$/m);
    assert.deepEqual([...dockerfile.matchAll(/^FROM (.+)$/gm)].map((match) => match[1]), ['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(runtime, /^RUN sh \/tmp\/install-package\.sh \/tmp\/tokenmeter\.tgz \/tmp\/package-lock\.json \/opt\/tokenmeter \\$/m);
    assert.match(runtime, /&& ln -s \/opt\/tokenmeter\/bin\/tokenmeter\.js \/usr\/local\/bin\/tokenmeter /);
    assert.match(runtime, /^USER 1000:1000$/m);
    assert.match(runtime, /^ENTRYPOINT \["tokenmeter"\]$/m);
  });

  test('the build stage copies everything npm pack ships, and .dockerignore lets it through', async () => {
    const dockerfile = await read('Dockerfile');
    const build = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '));
    const copied = [...build.matchAll(/^COPY (.+) \S+$/gm)].flatMap((match) => match[1]!.split(' '));
    // dist/ is built from src/; the rest of package.json's "files" is copied as it is.
    const shipped = packageJson.files.map((entry) => entry.split('/')[0]!).filter((top) => top !== 'dist');
    assert.deepEqual([...new Set(shipped)].filter((top) => !copied.includes(top)), []);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) assert.ok(copied.includes(needed), needed);
    const allowed = (await read('.dockerignore')).split('\n').filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
    assert.deepEqual([...copied, 'deploy/install-package.sh'].filter((source) => !allowed.includes(source)), []);
    assert.match(await read('.dockerignore'), /^\*$/m);
  });
});
