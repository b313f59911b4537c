import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveSeed, drawInteger, seededRandom, shuffled } from '../../src/util/random.ts';

// Recorded from load/seeded-random.ts and sim/random.ts before they became this one file
// (both were mulberry32): a change here changes every seeded run, prompt and simulator reply.
const FIRST_DRAWS: [seed: number, draws: number[]][] = [
  [0, [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111, 0.46732782293111086]],
  [1, [0.6270739405881613, 0.002735721180215478, 0.5274470399599522, 0.9810509674716741, 0.9683778982143849]],
  [42, [0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693, 0.17481389874592423]],
  [0xdeadbeef, [0.9413696140982211, 0.26719574979506433, 0.772033357527107, 0.35816076025366783, 0.47554167779162526]],
  [-1, [0.8964226141106337, 0.189478256739676, 0.7156526781618595, 0.9440599093213677, 0.8452364315744489]],
];

for (const [seed, draws] of FIRST_DRAWS) {
  test(`seed ${seed} draws the same first values as before`, () => {
    const random = seededRandom(seed);
    assert.deepEqual(Array.from({ length: draws.length }, random), draws);
  });
}

const DERIVED: [parts: [number, ...number[]], seed: number][] = [
  [[1], 1364076727],
  [[1, 2], 163005474],
  [[1, 2, 3], 649300141],
  [[42, 0, 7], 2868730645],
  [[0xdeadbeef, 1], 3769795588],
];

for (const [[seed, ...parts], derived] of DERIVED) {
  test(`deriveSeed(${[seed, ...parts].join(', ')}) is ${derived}, as before`, () => assert.equal(deriveSeed(seed, ...parts), derived));
}

test('drawInteger: a fixed value as it is, a range drawn inclusively with one draw each, as the simulator drew before', () => {
  const random = seededRandom(7);
  assert.deepEqual(Array.from({ length: 8 }, () => drawInteger([1, 6], random)), [1, 1, 6, 5, 4, 3, 3, 2]);
  assert.equal(drawInteger(5, random), 5);
});

test('shuffled: a permutation drawn from the seed (Fisher–Yates), the input left as it is', () => {
  const items = [0, 1, 2, 3, 4, 5, 6, 7];
  const order = shuffled(items, seededRandom(7));
  assert.deepEqual(order, [4, 6, 1, 2, 3, 5, 7, 0]);
  assert.deepEqual(shuffled(items, seededRandom(7)), order);
  assert.deepEqual([...order].sort(), items);
  assert.deepEqual(items, [0, 1, 2, 3, 4, 5, 6, 7]);
});
