import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capacitySearch, type LoadVerdict } from '../../src/load/capacity.ts';
import type { CapacitySpec, LoadKind } from '../../src/types.ts';

/** Drives the search as the pipeline does: each load it asks for gets `verdictOf`'s verdict. */
function searchCapacity(model: string, kind: LoadKind, spec: CapacitySpec, verdictOf: (load: number) => LoadVerdict | undefined) {
  const search = capacitySearch(model, kind, spec);
  for (let step = search.next(); ; step = search.next(verdictOf(step.value))) if (step.done) return step.value;
}

/** A deployment whose SLO holds up to `knee` and fails above it. */
const kneeAt = (knee: number) => (load: number) => (load <= knee ? { met: true } : { met: false, reason: `ttft_p95_ms ${load * 10} > ${knee * 10}` });

const cases: { name: string; kind: LoadKind; spec: CapacitySpec; knee: number; best?: number; failure?: number; tried: number[]; reachedMax?: boolean }[] = [
  { name: 'doubles to 16, then bisects to the knee at 11', kind: 'concurrency', spec: { start: 1, max: 1024, tolerance: 1 }, knee: 11, best: 11, failure: 12, tried: [1, 2, 4, 8, 16, 12, 10, 11] },
  { name: 'a knee on a power of two', kind: 'concurrency', spec: { start: 1, max: 1024, tolerance: 1 }, knee: 8, best: 8, failure: 9, tried: [1, 2, 4, 8, 16, 12, 10, 9] },
  { name: 'a coarser tolerance stops sooner', kind: 'concurrency', spec: { start: 1, max: 1024, tolerance: 4 }, knee: 11, best: 8, failure: 12, tried: [1, 2, 4, 8, 16, 12] },
  { name: 'a start above the knee: halve until a load passes, then bisect', kind: 'concurrency', spec: { start: 16, max: 64, tolerance: 1 }, knee: 5, best: 5, failure: 6, tried: [16, 8, 4, 6, 5] },
  { name: 'no load meets the SLO, down to one request in flight', kind: 'concurrency', spec: { start: 4, max: 64, tolerance: 1 }, knee: 0, failure: 1, tried: [4, 2, 1] },
  { name: 'a fractional max is searched in whole requests', kind: 'concurrency', spec: { start: 1, max: 5.5, tolerance: 1 }, knee: 100, best: 5, tried: [1, 2, 4, 5], reachedMax: true },
  { name: 'every load passes up to max', kind: 'concurrency', spec: { start: 1, max: 20, tolerance: 1 }, knee: 100, best: 20, tried: [1, 2, 4, 8, 16, 20], reachedMax: true },
  { name: 'rates bisect in fractions', kind: 'rate', spec: { start: 1, max: 100, tolerance: 0.5 }, knee: 5.2, best: 5, failure: 5.5, tried: [1, 2, 4, 8, 6, 5, 5.5] },
];

for (const c of cases) {
  test(`capacity search: ${c.name}`, async () => {
    const outcome = searchCapacity('m', c.kind, c.spec, kneeAt(c.knee));
    assert.deepEqual(
      outcome.steps.map((s) => s.load),
      c.tried,
    );
    assert.equal(outcome.best, c.best);
    assert.equal(outcome.firstFailure?.load, c.failure);
    if (c.failure !== undefined) assert.equal(outcome.firstFailure?.reason, `ttft_p95_ms ${c.failure * 10} > ${c.knee * 10}`);
    assert.equal(outcome.reachedMax, c.reachedMax ?? false);
    if (outcome.best !== undefined && outcome.firstFailure) assert.ok(outcome.firstFailure.load - outcome.best <= c.spec.tolerance);
  });
}

test('an interrupted search returns what it found so far, marked as interrupted', async () => {
  let calls = 0;
  const outcome = searchCapacity('m', 'concurrency', { start: 1, max: 64, tolerance: 1 }, (load) => (++calls > 3 ? undefined : { met: load < 100 }));
  assert.deepEqual(
    outcome.steps.map((s) => s.load),
    [1, 2, 4],
  );
  assert.equal(outcome.best, 4);
  assert.equal(outcome.interrupted, true);
});
