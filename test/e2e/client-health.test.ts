import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { collectRun, renderResultFiles, scenarioEvents } from '../../src/pipeline.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { startSimulatorThread } from '../../src/sim/threaded.ts';

/** Holds this thread, as a client stalled by its own work would: nothing else runs meanwhile. */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

// Real time, on purpose: the monitor watches the real event loop. A 300 ms block cannot be mistaken for a busy
// machine's noise, so this holds on any machine; that an unblocked cell is valid is tested on injected samples.
test('a client blocked for 300 ms in the middle of a real cell: the cell is invalid with client lag as the reason', async () => {
  const scenario = parseScenario(
    `name: stall
target:
  baseURL: builtin
  simulator: {defaults: {ttftMs: 20, tokensPerSecond: 500, tokensPerChunk: 2, outputTokens: 20, capacity: 64}}
models: [Meta-Llama-3.3-70B-Instruct]
load: {concurrency: 4, requests: 40}
prompts: ["hi"]
`,
    'stall.yaml',
    {},
  );
  const simulator = await startSimulatorThread(scenario.target.simulator!);
  try {
    let progress = 0;
    // One thread sends and reads, the one blocked here (with workers, this thread stamps nothing).
    const result = await collectRun(scenarioEvents(scenario, { baseURL: simulator.baseURL, workers: 1 }), (event) => {
      // The 12th request to finish: past warm-up, with about 30 still to go and 4 in flight.
      if (event.type === 'progress' && ++progress === 12) busyWait(300);
    });
    assert.equal(result.cells.length, 1);
    const at = new Date(0);
    const files = await renderResultFiles(scenario, result, { startedAt: at, endedAt: at, baseURL: simulator.baseURL, argv: [], tokenmeterVersion: 'test' });
    const [row] = parse(files['summary.csv']!, { columns: true }) as Record<string, string>[];
    assert.equal(row!.valid, 'false');
    assert.match(row!.invalid_reason!, /client lag: event-loop delay p99 \d+\.\d ms > 10 ms/);
    assert.ok(Number(row!.client_loop_delay_max_ms) >= 250, `max ${row!.client_loop_delay_max_ms} ms`);
    const [cell] = JSON.parse(files['summary.json']!).cells as { invalid?: string; clientUtilization?: number }[];
    assert.match(cell!.invalid ?? '', /client lag/);
    assert.ok(cell!.clientUtilization! > 0 && cell!.clientUtilization! <= 1);
  } finally {
    await simulator.close();
  }
});
