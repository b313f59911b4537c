import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitOf } from '../../src/cli/commands/run.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import type { CellSummary } from '../../src/metrics/cell-summary.ts';
import { ALPHA, cellSummary } from '../report/fixture.ts';

const invalid = (cell: CellSummary): CellSummary => ({ ...cell, invalid: 'client lag: event-loop delay p99 40 ms > 10 ms' });

test('every cell invalid: exit 98, said after the table; some invalid: a warning with the count, exit 0', () => {
  const all = exitOf({ completed: true, cells: [invalid(cellSummary(ALPHA, 1)), invalid(cellSummary(ALPHA, 4))] });
  assert.equal(all.code, ExitCode.ALL_INVALID);
  assert.equal(all.code, 98);
  assert.match(all.messages.join(''), /^error: every cell is invalid \(see INVALID above\)/);
  const some = exitOf({ completed: true, cells: [cellSummary(ALPHA, 1), invalid(cellSummary(ALPHA, 4))] });
  assert.equal(some.code, ExitCode.OK);
  assert.equal(some.messages.join(''), 'warning: 1 of 2 cells invalid (see INVALID above): their numbers describe the client, not the server\n');
  assert.deepEqual(exitOf({ completed: true, cells: [cellSummary(ALPHA, 1)] }), { code: ExitCode.OK, messages: [] });
});

test('with --repeat the merged rows are judged: an invalid repeat beside a valid merged row is not "every cell"', () => {
  const repeat = { ...invalid(cellSummary(ALPHA, 1)), repeat: 1 };
  const merged = cellSummary(ALPHA, 1);
  assert.equal(exitOf({ completed: true, cells: [repeat, merged] }).code, ExitCode.OK);
});

test('interrupted and nothing-succeeded come first', () => {
  assert.equal(exitOf({ completed: false, cells: [invalid(cellSummary(ALPHA, 1))] }).code, ExitCode.INTERRUPTED);
  assert.equal(exitOf({ completed: true, cells: [{ ...invalid(cellSummary(ALPHA, 1)), ok: 0 }] }).code, ExitCode.RUN_FAILED);
});

test('cells that measured nothing (every request warm-up) are said as such, never as failures', () => {
  const allWarmup = (cell: CellSummary): CellSummary => ({ ...cell, requests: 0, ok: 0, errors: 0 });
  const none = exitOf({ completed: true, cells: [allWarmup(cellSummary(ALPHA, 1)), allWarmup(cellSummary(ALPHA, 4))] });
  assert.deepEqual(none, {
    code: ExitCode.RUN_FAILED,
    messages: ['error: no request was measured: every request the run sent was warm-up (load.warmup covers whole cells: lower it)\n'],
  });
  const one = exitOf({ completed: true, cells: [cellSummary(ALPHA, 1), allWarmup(cellSummary(ALPHA, 4))] });
  assert.deepEqual(one, {
    code: ExitCode.OK,
    messages: [`warning: 1 of 2 cells measured nothing, every request they sent was warm-up (load.warmup covers them: lower it): ${ALPHA} @ c=4\n`],
  });
  // One cell all warm-up, the other all failed: nothing succeeded, and the warm-up cell is not counted among the failures.
  const failed = exitOf({ completed: true, cells: [{ ...cellSummary(ALPHA, 1), ok: 0 }, allWarmup(cellSummary(ALPHA, 4))] });
  assert.equal(failed.code, ExitCode.RUN_FAILED);
  assert.deepEqual(failed.messages, [
    'error: no request succeeded; see the error classes above and requests.jsonl\n',
    `warning: 1 of 2 cells measured nothing, every request they sent was warm-up (load.warmup covers them: lower it): ${ALPHA} @ c=4\n`,
  ]);
});
