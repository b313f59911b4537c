/**
 * The Kubernetes Indexed Job's mechanism, proven locally (issue 14): N real
 * `tokenmeter run` processes, each told its shard only through the
 * environment a Job gives its pods (JOB_COMPLETION_INDEX, TOKENMETER_SHARDS,
 * TOKENMETER_START_AT), against one simulator; then `tokenmeter merge`, and
 * the merged folder checked against everything the simulator saw.
 * Nothing here asserts on a real duration.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../src/cli/main.ts';
import { DEFAULT_SIM_PROFILE } from '../../src/sim/profile.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, REPO_ROOT, withTempDir } from '../helpers.ts';

const run = promisify(execFile);
const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const SHARDS = 3;

test('N shard processes, told their shard by the environment as a Kubernetes Indexed Job tells its pods, against one simulator, merge into one run', () =>
  withTempDir(async (dir) => {
    const simulator = await startSimulator(
      { seed: 1, defaults: { ...DEFAULT_SIM_PROFILE, ttftMs: 20, tokensPerSecond: 400, outputTokens: [8, 16], capacity: 64 }, models: {} },
      { keepTruth: true },
    );
    try {
      const scenario = path.join(dir, 'scenario.yaml');
      await writeFile(
        scenario,
        `name: sharded\ntarget: {baseURL: "${simulator.baseURL}"}\nmodels: [${LLAMA}]\nprompts: [hi, "why is the sky blue?"]\nload: {concurrency: [6, 4], duration: 1s}\n`,
      );
      // A couple of seconds ahead, so every process is up before cell 0 (tsx compiles on start); a
      // shard that is not still runs, its lateness recorded, and a busy machine must not void it.
      const startAt = new Date(Date.now() + 3_000).toISOString();
      const shardDirs = Array.from({ length: SHARDS }, (_, i) => path.join(dir, `shard-${i}`));
      const results = await Promise.all(
        shardDirs.map((out, index) =>
          run(
            process.execPath,
            // Shard 1 splits its share again over 2 worker threads (one of them has no slot at concurrency 4).
            ['--import', 'tsx', 'src/cli/main.ts', 'run', scenario, '--out', out, '--no-preflight', ...NOT_ABOUT_CLIENT_HEALTH, '--set', 'load.maxStartOffset=60s', '--workers', index === 1 ? '2' : '1'],
            {
              cwd: REPO_ROOT,
              env: { ...process.env, JOB_COMPLETION_INDEX: String(index), TOKENMETER_SHARDS: String(SHARDS), TOKENMETER_START_AT: startAt, TOKENMETER_SHARD_GAP: '1s' },
            },
          ).then(
            () => 0,
            (error: { code?: number; stderr?: string }) => {
              throw new Error(`shard ${index} exited ${error.code}: ${error.stderr}`);
            },
          ),
        ),
      );
      assert.deepEqual(results, [0, 0, 0]);
      for (const [index, out] of shardDirs.entries()) {
        const runJson = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
        assert.deepEqual(runJson.shard, { index, count: SHARDS, start_at: startAt, gap_ms: 1000 });
        const lines = await readRequests(out);
        assert.ok(lines.every((line) => line.shard === index));
        // Closed-loop ids carry the share that sent them: a shard's own, or each of its workers'.
        const senders = new Set(lines.filter((line) => line.concurrency === 6).map((line) => line.id.split('-')[0]));
        assert.equal(senders.size, index === 1 ? 2 : 1, `shard ${index}: ${[...senders].join(', ')}`);
      }

      const merged = path.join(dir, 'merged');
      const io = captureIo();
      assert.equal(await main(['merge', ...shardDirs, '--out', merged], io), 0, io.err());
      assert.deepEqual((await readdir(merged)).sort(), ['histograms.csv', 'histograms.json', 'report.html', 'requests.jsonl', 'run.json', 'summary.csv', 'summary.json']);

      // Every request the simulator saw is in the merged requests.jsonl, exactly once.
      const lines = await readRequests(merged);
      const seen = simulator.truth.map((truth) => truth.requestId);
      assert.equal(seen.length, lines.length);
      assert.deepEqual([...lines.map((line) => line.id)].sort(), [...seen].sort());
      assert.equal(new Set(seen).size, seen.length);

      // Counts are the shards' sums, cell by cell; the slots of each cell all there.
      const summaries = await Promise.all(shardDirs.map(async (out) => JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'))));
      const summary = JSON.parse(await readFile(path.join(merged, 'summary.json'), 'utf8'));
      assert.deepEqual(
        summary.cells.map((cell: { load: { value: number } }) => cell.load.value),
        [6, 4],
      );
      for (const [c, cell] of summary.cells.entries()) {
        for (const field of ['requests', 'ok', 'errors']) {
          assert.equal(cell[field], summaries.reduce((sum, s) => sum + s.cells[c][field], 0), `cells[${c}].${field}`);
        }
        const slots = new Set(lines.filter((line) => line.concurrency === cell.load.value).map((line) => line.slot));
        assert.equal(slots.size, cell.load.value);
      }
      const runJson = JSON.parse(await readFile(path.join(merged, 'run.json'), 'utf8'));
      assert.equal(runJson.completed, true);
      assert.deepEqual(
        runJson.merged_from.map((folder: { shard: { index: number } }) => folder.shard.index),
        [0, 1, 2],
      );

      // `report` rebuilds it, and `check` takes it (as a baseline of itself: nothing regressed).
      assert.equal(await main(['report', merged], captureIo()), 0);
      const check = captureIo();
      // Inconclusive verdicts (a small run cannot bound its p95) pass here: what counts is that nothing regressed.
      assert.equal(await main(['check', merged, '--baseline', merged, '--inconclusive', 'pass'], check), 0, check.err());
      assert.doesNotMatch(check.out(), /REGRESSION/);
    } finally {
      await simulator.close();
    }
  }));
