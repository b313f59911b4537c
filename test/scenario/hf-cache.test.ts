import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadTokenizerFile } from '../../src/metrics/tokenizers.ts';
import { hfHubCache, resolveHfTokenizer } from '../../src/scenario/hf-cache.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { byteLevelTokenizerJson } from '../tokenizer-fixtures.ts';

/** Puts a tokenizer.json in a fake hub cache as huggingface_hub lays it out; returns its path. */
async function cacheSnapshot(hub: string, repo: string, commit: string, json: object = byteLevelTokenizerJson([])): Promise<string> {
  const snapshot = path.join(hub, `models--${repo.replace('/', '--')}`, 'snapshots', commit);
  await mkdir(snapshot, { recursive: true });
  await writeFile(path.join(snapshot, 'tokenizer.json'), JSON.stringify(json));
  return path.join(snapshot, 'tokenizer.json');
}

async function setRefsMain(hub: string, repo: string, commit: string): Promise<void> {
  const refs = path.join(hub, `models--${repo.replace('/', '--')}`, 'refs');
  await mkdir(refs, { recursive: true });
  await writeFile(path.join(refs, 'main'), `${commit}\n`);
}

const scenarioText = (tokenizer: string) =>
  `name: t\ntarget: {baseURL: builtin}\nmodels: [{name: m, tokenizer: "${tokenizer}"}]\nload: {concurrency: 1, requests: 1}\nprompts: [hi]\n`;

describe('hf:ORG/NAME tokenizers from the local Hugging Face cache', () => {
  test('the cache folder: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
    assert.equal(hfHubCache({ HF_HUB_CACHE: '/a/hub', HF_HOME: '/b' }), '/a/hub');
    assert.equal(hfHubCache({ HF_HOME: '/b' }), path.join('/b', 'hub'));
    assert.equal(hfHubCache({ HOME: '/home/u' }), path.join('/home/u', '.cache', 'huggingface', 'hub'));
  });

  test('refs/main names the snapshot, even when another one is newer', () =>
    withTempDir(async (home) => {
      const hub = path.join(home, 'hub');
      const main = await cacheSnapshot(hub, 'org/model', 'aaa111');
      const other = await cacheSnapshot(hub, 'org/model', 'bbb222');
      await utimes(main, new Date('2024-01-01'), new Date('2024-01-01'));
      await setRefsMain(hub, 'org/model', 'aaa111');
      assert.deepEqual(resolveHfTokenizer('org/model', { HF_HOME: home }), { file: main });
      await setRefsMain(hub, 'org/model', 'bbb222');
      assert.deepEqual(resolveHfTokenizer('org/model', { HF_HOME: home }), { file: other });
    }));

  test('without refs/main: the newest snapshot that has a tokenizer.json', () =>
    withTempDir(async (hub) => {
      const old = await cacheSnapshot(hub, 'org/model', 'old');
      const newest = await cacheSnapshot(hub, 'org/model', 'new');
      await utimes(old, new Date('2024-01-01'), new Date('2024-01-01'));
      await mkdir(path.join(hub, 'models--org--model', 'snapshots', 'empty'));
      assert.deepEqual(resolveHfTokenizer('org/model', { HF_HUB_CACHE: hub }), { file: newest });
    }));

  test('a scenario’s hf:ORG/NAME becomes the cached file, and the tokenizer is named hf:ORG/NAME in the results', () =>
    withTempDir(async (home) => {
      const file = await cacheSnapshot(path.join(home, 'hub'), 'org/model', 'c0ffee');
      await setRefsMain(path.join(home, 'hub'), 'org/model', 'c0ffee');
      const scenario = parseScenario(scenarioText('hf:org/model'), path.join(home, 's.yaml'), { HF_HOME: home });
      assert.equal(scenario.models[0]!.tokenizer, file);
      assert.equal((await loadTokenizerFile(file)).name, 'hf:org/model');
    }));

  test('not in the cache: a scenario error that says where it looked and how to get it', () =>
    withTempDir(async (home) => {
      const expected = path.join(home, 'hub', 'models--org--missing');
      assert.throws(
        () => parseScenario(scenarioText('hf:org/missing'), path.join(home, 's.yaml'), { HF_HOME: home }),
        (error: unknown) => {
          assert.ok(error instanceof ScenarioError);
          assert.equal(
            error.message,
            `${path.join(home, 's.yaml')}: models[0].tokenizer: hf:org/missing: no tokenizer.json in the Hugging Face cache (looked in ${expected}); ` +
              'tokenmeter never downloads: get it with `huggingface-cli download org/missing tokenizer.json tokenizer_config.json` (or set HF_HUB_CACHE or HF_HOME)',
          );
          return true;
        },
      );
      // refs/main names a snapshot without a tokenizer.json: that is the file it looked for.
      await cacheSnapshot(path.join(home, 'hub'), 'org/model', 'other');
      await setRefsMain(path.join(home, 'hub'), 'org/model', 'abc');
      const result = resolveHfTokenizer('org/model', { HF_HOME: home });
      assert.ok('problem' in result && result.problem.includes(path.join(home, 'hub', 'models--org--model', 'snapshots', 'abc', 'tokenizer.json')));
    }));

  test('validate finds it through the environment it is given', () =>
    withTempDir(async (home) => {
      await cacheSnapshot(path.join(home, 'hub'), 'org/model', 'c0ffee');
      await writeFile(path.join(home, 's.yaml'), scenarioText('hf:org/model'));
      const io = captureIo({ HF_HOME: home });
      assert.equal(await main(['validate', path.join(home, 's.yaml')], io), 0, io.err());
      const missing = captureIo({ HF_HOME: path.join(home, 'elsewhere') });
      assert.equal(await main(['validate', path.join(home, 's.yaml')], missing), 2);
      assert.match(missing.err(), /models\[0\]\.tokenizer: hf:org\/model: no tokenizer\.json in the Hugging Face cache/);
    }));

  test('a malformed name is a schema error', () => {
    assert.throws(
      () => parseScenario(scenarioText('hf:just-a-name'), '/s.yaml', {}),
      (error: unknown) => error instanceof ScenarioError && /models\[0\]\.tokenizer: must be one of .*hf:ORG\/NAME/.test(error.message),
    );
  });
});
