/** `run --shard i/N --start-at T --shard-gap D`, or a Kubernetes Indexed Job's environment: parsed, or refused (exit 2). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { shardScheduleOf } from '../../src/cli/shard-args.ts';
import { DEFAULT_SHARD_GAP_MS } from '../../src/load/shard-schedule.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, withTempDir } from '../helpers.ts';

const scenario = (load: string) => parseScenario(`name: t\ntarget: {baseURL: builtin}\nmodels: [m]\nprompts: [hi]\nload: ${load}\n`, 't.yaml', {});
const TIMED = scenario('{concurrency: 4, duration: 10s}');

test('the shard comes from --shard, else from JOB_COMPLETION_INDEX and TOKENMETER_SHARDS; the start time and gap likewise', () => {
  assert.equal(shardScheduleOf({}, {}, TIMED), undefined);
  assert.deepEqual(shardScheduleOf({ shard: '2/4', startAt: '2030-01-01T12:00:00Z' }, {}, TIMED), {
    share: { index: 2, count: 4 },
    startAtUnixMs: Date.UTC(2030, 0, 1, 12),
    gapMs: DEFAULT_SHARD_GAP_MS,
  });
  const env = { JOB_COMPLETION_INDEX: '1', TOKENMETER_SHARDS: '3', TOKENMETER_START_AT: '2030-01-01T13:00:00+01:00', TOKENMETER_SHARD_GAP: '5s' };
  assert.deepEqual(shardScheduleOf({}, env, TIMED), { share: { index: 1, count: 3 }, startAtUnixMs: Date.UTC(2030, 0, 1, 12), gapMs: 5000 });
  // The flag wins over the environment.
  assert.deepEqual(shardScheduleOf({ shard: '0/2', shardGap: '1s' }, env, TIMED)?.share, { index: 0, count: 2 });
  // One shard needs no start time: it starts at once.
  assert.deepEqual(shardScheduleOf({ shard: '0/1' }, {}, TIMED), { share: { index: 0, count: 1 }, gapMs: DEFAULT_SHARD_GAP_MS });
});

test('run refuses a shard it cannot place, exit 2 with the reason, before sending anything', async () => {
  const cases: { args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
    { args: ['--set', 'load.duration=null', '--set', 'load.requests=10', '--shard', '0/2', '--start-at', '2030-01-01T12:00:00Z'], message: /sharded runs need time-bounded cells.*load\.duration/ },
    { args: ['--shard', '1/2'], message: /give every shard the same --start-at/ },
    { args: ['--shard', '2/2', '--start-at', '2030-01-01T12:00:00Z'], message: /--shard 2\/2: the shard index must be 0 to N−1/ },
    { args: ['--shard', 'one'], message: /--shard one: must be i\/N/ },
    { args: ['--shard', '0/2', '--start-at', '2030-01-01T12:00:00'], message: /must be an ISO-8601 time with a zone/ },
    { args: ['--shard', '0/2', '--start-at', '2030-01-01T12:00:00Z', '--shard-gap', 'soon'], message: /--shard-gap: "soon" is not a duration/ },
    { args: ['--start-at', '2030-01-01T12:00:00Z'], message: /--start-at and --shard-gap need --shard/ },
    { args: [], env: { TOKENMETER_SHARDS: '3' }, message: /TOKENMETER_SHARDS=3 without JOB_COMPLETION_INDEX/ },
  ];
  for (const { args, env, message } of cases) {
    const io = captureIo(env ?? {});
    const code = await main(['run', '--base-url', 'builtin', '--model', 'm', '--duration', '2s', ...args], io);
    assert.equal(code, 2, `${args.join(' ')}: ${io.err()}`);
    assert.match(io.err(), message);
  }
});

test("one shard of several does not judge the scenario's thresholds (its throughput is 1/N of the run's): merge does", () =>
  withTempDir(async (dir) => {
    // A threshold no run meets: judged, it exits 99.
    const run = (out: string, more: string[]) =>
      ['run', '--base-url', 'builtin', '--model', 'm', '--concurrency', '2', '--duration', '300ms', '--out', path.join(dir, out), ...NOT_ABOUT_CLIENT_HEALTH, '--set', 'thresholds=["output_tokens_per_s > 1000000000"]', ...more];
    const shard = captureIo();
    assert.equal(await main(run('shard-0', ['--set', 'load.maxStartOffset=60s', '--shard', '0/2', '--start-at', new Date().toISOString()]), shard), 0, shard.err());
    assert.match(shard.err(), /thresholds: not judged on one shard of 2; tokenmeter merge judges them on the merged run/);
    const whole = captureIo();
    assert.equal(await main(run('whole', []), whole), 99, whole.err());
  }));
