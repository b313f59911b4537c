import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadKey, loadOfFields, type LoadFields, type LoadIdentity } from '../../src/util/load-level.ts';

test("loadKey tells apart what a cell's load level is, beyond its kind and value", () => {
  const levels: LoadIdentity[] = [
    { kind: 'rate', value: 2 },
    { kind: 'concurrency', value: 2 },
    { kind: 'rate', value: 2, ramp: { toRate: 20, overMs: 60_000 } },
    { kind: 'rate', value: 2, ramp: { toRate: 20, overMs: 30_000 } },
    { kind: 'rate', value: 2, ramp: { toRate: 10, overMs: 60_000 } },
    { kind: 'rate', value: 2, trace: { speedup: 1 } },
    { kind: 'rate', value: 2, trace: { speedup: 2 } },
  ];
  assert.equal(new Set(levels.map(loadKey)).size, levels.length);
  assert.equal(loadKey({ kind: 'rate', value: 2, ramp: { toRate: 20, overMs: 60_000 } }), loadKey(levels[2]!));
});

const fields: [LoadFields, LoadIdentity | undefined][] = [
  [{ concurrency: 4 }, { kind: 'concurrency', value: 4 }],
  [{ rate: 2 }, { kind: 'rate', value: 2 }],
  [{ rate: 2, ramp_to: 20, ramp_over_ms: 60_000 }, { kind: 'rate', value: 2, ramp: { toRate: 20, overMs: 60_000 } }],
  [{ rate: 15.181518151815183, trace_speedup: 2 }, { kind: 'rate', value: 15.181518151815183, trace: { speedup: 2 } }],
  [{}, undefined],
];
for (const [input, expected] of fields) {
  test(`loadOfFields(${JSON.stringify(input)}) reads back report/json.ts's load fields`, () => assert.deepEqual(loadOfFields(input), expected));
}
