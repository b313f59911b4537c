import assert from 'node:assert/strict';
import { test } from 'node:test';
import { textTableLines, type TextColumn } from '../../src/util/text-table.ts';

const CASES: { name: string; columns: TextColumn[]; rows: string[][]; rule?: boolean; lines: string[] }[] = [
  {
    name: 'columns are as wide as their widest cell or title, two spaces apart, left-aligned by default',
    columns: [{ title: 'cell' }, { title: 'metric' }],
    rows: [
      ['m @ c=8', 'ttft.p95'],
      ['m', 'e2e'],
    ],
    lines: ['cell     metric', 'm @ c=8  ttft.p95', 'm        e2e'],
  },
  {
    name: 'right-aligned columns pad on the left',
    columns: [{ title: 'model' }, { title: 'req/s', align: 'right' }],
    rows: [
      ['alpha', '25.81'],
      ['b', '9.3'],
    ],
    lines: ['model  req/s', 'alpha  25.81', 'b        9.3'],
  },
  {
    name: 'a rule of dashes under the titles, as wide as each column',
    columns: [{ title: 'metric' }, { title: 'fast' }],
    rows: [['TTFT p50 (ms)', '100 *']],
    rule: true,
    lines: ['metric         fast', '-------------  -----', 'TTFT p50 (ms)  100 *'],
  },
  {
    name: 'no line ends in spaces, and a missing cell is blank',
    columns: [{ title: 'a' }, { title: 'verdict' }],
    rows: [['long value', ''], ['x']],
    lines: ['a           verdict', 'long value', 'x'],
  },
  {
    name: 'a table without rows is its titles',
    columns: [{ title: 'model' }, { title: 'err', align: 'right' }],
    rows: [],
    rule: true,
    lines: ['model  err', '-----  ---'],
  },
];

for (const { name, columns, rows, rule, lines } of CASES) {
  test(name, () => assert.deepEqual(textTableLines(columns, rows, { rule: rule ?? false }), lines));
}
