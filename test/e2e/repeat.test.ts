import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { readRequests, runScenarioText, withTempDir } from '../helpers.ts';

test('run --repeat 3: each repeat kept, then merged (histograms added exactly) with the spread of the headline numbers', () =>
  withTempDir(async (dir) => {
    const { code, io, out } = await runScenarioText(
      dir,
      'out',
      `name: r
target:
  baseURL: builtin
  simulator: {defaults: {ttftMs: 10, tokensPerSecond: 2000, tokensPerChunk: [1, 4], outputTokens: [20, 40], capacity: 64}}
models: [Meta-Llama-3.3-70B-Instruct]
load: {concurrency: 4, requests: 12}
prompts: ["hi"]
thresholds: ["ttft.count >= 36"]
`,
      { args: ['--repeat', '3'] },
    );
    assert.equal(code, 0, io.err());
    const rows = parse(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => [r.repeat, r.requests]),
      [
        ['1', '12'],
        ['2', '12'],
        ['3', '12'],
        ['all 3', '36'],
      ],
    );
    const merged = rows[3]!;
    const p95s = rows.slice(0, 3).map((r) => Number(r.ttft_p95_ms));
    assert.equal(Number(merged.ttft_p95_repeat_min), Math.min(...p95s));
    assert.equal(Number(merged.ttft_p95_repeat_max), Math.max(...p95s));
    assert.ok(Number(merged.ttft_p95_repeat_cv) >= 0);
    assert.equal(rows[0]!.ttft_p95_repeat_min, '', 'only the merged row carries the spread');
    // The server's own timings (the simulator reports SambaNova's) are merged too, not dropped.
    assert.notEqual(merged.server_ttft_p50_ms, '');
    const serverP50s = rows.slice(0, 3).map((r) => Number(r.server_ttft_p50_ms));
    assert.ok(Number(merged.server_ttft_p50_ms) >= Math.min(...serverP50s) && Number(merged.server_ttft_p50_ms) <= Math.max(...serverP50s));
    // The threshold judged the merged cell: 36 TTFT samples, where each repeat alone has 12.
    assert.match(io.out(), /ok    ttft\.count >= 36 +\(Meta-Llama-3\.3-70B-Instruct @ c=4: 36\)/);
    assert.match(io.out(), /spread over 3 repeats of Meta-Llama-3\.3-70B-Instruct @ c=4: TTFT p50 /);
    const lines = await readRequests(out);
    assert.deepEqual(
      [1, 2, 3].map((repeat) => lines.filter((l) => l.repeat === repeat && !l.warmup).length),
      [12, 12, 12],
    );
    const histograms = JSON.parse(await readFile(path.join(out, 'histograms.json'), 'utf8'));
    assert.deepEqual(
      histograms.cells.map((c: { repeat: unknown; histograms: { ttft: { count: number } } }) => [c.repeat, c.histograms.ttft.count]),
      [
        [1, 12],
        [2, 12],
        [3, 12],
        ['all', 36],
      ],
    );
  }));
