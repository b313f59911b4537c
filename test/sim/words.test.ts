import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTokenizer, TOKENIZER_NAMES } from '../../src/metrics/tokenizers.ts';
import { seededRandom } from '../../src/util/random.ts';
import { SIM_WORDS } from '../../src/sim/words.ts';

for (const name of TOKENIZER_NAMES) {
  test(`${name}: every simulator word is one token, and a run of n words is n tokens`, async () => {
    const tokenizer = await loadTokenizer(name);
    const multi = SIM_WORDS.filter((word) => tokenizer.encode(` ${word}`).length !== 1);
    assert.deepEqual(multi, []);
    const random = seededRandom(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(random() * 300);
      let text = '';
      for (let i = 0; i < n; i++) text += ' ' + SIM_WORDS[Math.floor(random() * SIM_WORDS.length)];
      assert.equal(tokenizer.encode(text).length, n);
    }
  });
}
