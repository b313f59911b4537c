/**
 * A cell split over workers or shards: the parts are disjoint, and together
 * they are the cell one process would send (issue 14). Virtual time: every
 * assertion is an exact schedule or count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inShare, nestedShare, shareOf, type FinishedRequest, type OutgoingRequest, type Share } from '../../src/load/cell-budget.ts';
import { closedLoop } from '../../src/load/closed-loop.ts';
import { openLoop } from '../../src/load/open-loop.ts';
import type { Exchange } from '../../src/types.ts';
import { sleep, VirtualClock } from '../../src/util/clock.ts';
import { seededRandom } from '../../src/util/random.ts';

const prompts = [{ messages: [{ role: 'user' as const, content: 'hi' }] }];
const exchangeOf = (request: OutgoingRequest, t0: number, tEnd: number): Exchange => ({ id: request.id, ts: request.ts ?? t0, t0, tEnd, chunks: [] });

async function drain<T>(loop: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of loop) items.push(item);
  return items;
}

const sharesOf = (count: number): Share[] => Array.from({ length: count }, (_, index) => ({ index, count }));

test('shareOf deals counts in turn: the parts add up to the whole, and differ by at most one', () => {
  for (const count of [1, 2, 3, 7]) {
    for (const total of [0, 1, 5, 23, 100]) {
      const parts = sharesOf(count).map((share) => shareOf(total, share));
      assert.equal(parts.reduce((a, b) => a + b, 0), total);
      assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
    }
  }
});

test("a worker's share of a shard's share is one share of the whole cell, and they partition it", () => {
  for (const shards of [1, 2, 3]) {
    for (const workers of [1, 2, 4]) {
      const owners = Array.from({ length: 100 }, (_, n) =>
        sharesOf(shards).flatMap((shard) => sharesOf(workers).filter((worker) => inShare(n, nestedShare(shard, worker)) && inShare(n, shard))),
      );
      assert.ok(owners.every((list) => list.length === 1), `${shards} shards × ${workers} workers: every item has one owner`);
    }
  }
});

test('closed loop split N ways: the slots are disjoint and all there, and the measured requests add up to the cell’s', async () => {
  for (const count of [1, 2, 3, 7]) {
    const clock = new VirtualClock();
    const parts = await clock.run(
      Promise.all(
        sharesOf(count).map((share) =>
          drain(
            closedLoop({ concurrency: 5, requests: 23, warmup: 2, prompts, idPrefix: `s${share.index}`, share }, async (request) => {
              const t0 = clock.now();
              await sleep(clock, 10);
              return exchangeOf(request, t0, clock.now());
            }, { clock }),
          ),
        ),
      ),
    );
    const all = parts.flat();
    assert.deepEqual([...new Set(all.map((r) => r.slot))].sort(), [0, 1, 2, 3, 4], `${count} shares: every slot of the cell once`);
    for (const [i, part] of parts.entries()) {
      assert.ok(part.every((r) => r.slot! % count === i), `share ${i} sends from its own slots`);
    }
    assert.equal(all.filter((r) => !r.warmup).length, 23, `${count} shares: the cell's 23 measured requests`);
    assert.equal(new Set(all.map((r) => r.id)).size, all.length, 'ids are unique across shares');
    // Warm-up: at least one per slot, so every measured request has a warm connection.
    const warmSlots = new Set(all.filter((r) => r.warmup).map((r) => r.slot));
    assert.equal(warmSlots.size, 5);
  }
});

for (const arrivals of [{ arrival: 'poisson' as const }, { arrival: 'gamma' as const, burstiness: 0.3 }]) {
  test(`open loop (${arrivals.arrival} arrivals) split N ways: the union of the shares’ schedules is the single process’s schedule`, async () => {
    const plan = { rate: 50, ...arrivals, maxInFlight: 64, requests: 200, warmupMs: 300, prompts, idPrefix: 'c1' };
    const schedule = async (share?: Share): Promise<FinishedRequest[]> => {
      const clock = new VirtualClock(5000);
      return clock.run(
        drain(
          openLoop({ ...plan, random: seededRandom(7), ...(share ? { share } : {}) }, async (request) => {
            const t0 = clock.now();
            await sleep(clock, 30);
            return exchangeOf(request, t0, clock.now());
          }, { clock }),
        ),
      );
    };
    const key = (r: FinishedRequest) => `${r.id} ${r.ts} ${r.warmup}`;
    const whole = (await schedule()).map(key).sort();
    assert.equal(whole.filter((line) => line.endsWith('false')).length, 200);
    for (const count of [1, 2, 3, 7]) {
      const parts = await Promise.all(sharesOf(count).map((share) => schedule(share)));
      assert.deepEqual(parts.flat().map(key).sort(), whole, `${count} shares`);
      assert.ok(parts.every((part, i) => part.every((r) => Number(r.id.split('-')[1]) % count === i)), 'each share sends its own arrivals');
    }
  });
}
