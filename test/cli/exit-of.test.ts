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
