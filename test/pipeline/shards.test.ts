/**
 * Sharded runs and their merge (issue 14), on simulated time: N shards of a
 * scenario run side by side on one VirtualClock against one VirtualServer, each
 * writes its results folder as `run --shard i/N` would, and `tokenmeter merge`
 * makes one folder of them. Every assertion is an exact value.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { ShardSchedule } from '../../src/load/shard-schedule.ts';
import { CellAccumulator, type CellSummary } from '../../src/metrics/cell-summary.ts';
import { encodeHistogram, METRIC_NAMES } from '../../src/metrics/histograms.ts';
import { cellOptions, collectRun, renderResultFiles, scenarioEvents } from '../../src/pipeline.ts';
import { renderRequestLine } from '../../src/report/json.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { RequestRecord } from '../../src/types.ts';
import { sleep, VirtualClock } from '../../src/util/clock.ts';
import { captureIo, readRequests, withTempDir } from '../helpers.ts';
import { VirtualServer, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const FAST: VirtualServerProfile = { ttftMs: 20, tokensPerSecond: 500, tokensPerChunk: [1, 3], outputTokens: [10, 30], capacity: 64, ttftJitter: 0.5 };
/** Unix time the virtual clock's 0 stands for (by default), and when the shards' cell 0 starts: 5 s later. */
const T0 = Date.UTC(2030, 0, 1, 12);
const START_AFTER_MS = 5_000;
const GAP_MS = 2_000;

const scenarioText = (load: string) =>
  `name: sharded\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nprompts: [hi, "tell me more"]\nload: ${load}\n`;

interface Shard {
  dir: string;
  records: RequestRecord[];
  cells: CellSummary[];
}

/**
 * Runs `count` shards of the scenario at once on one virtual clock against one server, shard i
 * starting its process `lateMs[i]` after the clock's 0 (Unix time `t0`), and writes each one's
 * results folder into DIR/shard-i as `run --shard i/count --start-at` would.
 */
async function runShards(dir: string, text: string, count: number, { lateMs = [], t0 = T0 }: { lateMs?: number[]; t0?: number } = {}): Promise<{ shards: Shard[]; server: VirtualServer }> {
  const clock = new VirtualClock();
  const server = new VirtualServer(clock, FAST);
  const scenario = parseScenario(text, 'sharded.yaml', {});
  const shards = await clock.run(
    Promise.all(
      Array.from({ length: count }, async (_, index): Promise<Shard> => {
        await sleep(clock, lateMs[index] ?? 0);
        const shard: ShardSchedule = { share: { index, count }, startAtUnixMs: t0 + START_AFTER_MS, gapMs: GAP_MS };
        const records: RequestRecord[] = [];
        const lines: string[] = [];
        const options = { baseURL: 'http://virtual.invalid/v1', clock, client: server, shard, wallClockOrigin: { clockMs: 0, unixMs: t0 } };
        const result = await collectRun(scenarioEvents(scenario, options), (event) => {
          if (event.type !== 'record') return;
          records.push(event.record);
          lines.push(renderRequestLine(event.record));
        });
        const out = path.join(dir, `shard-${index}`);
        await mkdir(out);
        const at = new Date(t0);
        const files = await renderResultFiles(scenario, result, { startedAt: at, endedAt: at, baseURL: options.baseURL, argv: [], tokenmeterVersion: 'test', shard });
        await writeFile(path.join(out, 'requests.jsonl'), lines.join(''));
        for (const [file, contents] of Object.entries(files)) await writeFile(path.join(out, file), contents);
        return { dir: out, records, cells: result.cells };
      }),
    ),
  );
  return { shards, server };
}

async function merge(folders: string[], out: string, extra: string[] = []) {
  const io = captureIo();
  const code = await main(['merge', ...folders, '--out', out, ...extra], io);
  return { code, io };
}

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

test('merged percentiles of N shards are those of the union of their records, exactly (the same HdrHistograms), for N = 1, 2, 3, 7', () =>
  withTempDir(async (dir) => {
    const text = scenarioText('{concurrency: [7, 3], duration: 2s, warmup: 1s}');
    const scenario = parseScenario(text, 'sharded.yaml', {});
    for (const count of [1, 2, 3, 7]) {
      const base = path.join(dir, `n${count}`);
      await mkdir(base);
      const { shards } = await runShards(base, text, count);
      const out = path.join(base, 'merged');
      const { code, io } = await merge(
        shards.map((shard) => shard.dir),
        out,
      );
      assert.equal(code, 0, io.err());
      const histograms = await readJson(path.join(out, 'histograms.json'));
      const summary = await readJson(path.join(out, 'summary.json'));
      assert.equal(histograms.cells.length, 2);
      for (const [c, level] of [7, 3].entries()) {
        // The union of every shard's records of the cell, through one accumulator, as one process would add them.
        const union = new CellAccumulator({ model: LLAMA, load: { kind: 'concurrency', value: level } }, cellOptions(scenario));
        const records = shards.flatMap((shard) => shard.records.filter((r) => r.load.value === level));
        // On Unix time, as merge reads them back: the window (and so the timeline's marks) as one process would see it.
        for (const record of records) union.add(record, { ts: record.scheduledAtUnixMs!, t0: record.sentAtUnixMs!, tEnd: record.sentAtUnixMs! + record.metrics.e2eMs });
        const expected = union.summary();
        assert.ok(expected.requests > 0);
        for (const metric of METRIC_NAMES) {
          assert.equal(histograms.cells[c].histograms[metric].encoded, encodeHistogram(expected.histograms[metric]), `N=${count} c=${level}: ${metric}`);
        }
        assert.deepEqual(summary.cells[c].stats, JSON.parse(JSON.stringify(expected.stats)), `N=${count} c=${level}: every percentile`);
        assert.equal(summary.cells[c].requests, shards.reduce((sum, shard) => sum + shard.cells[c]!.requests, 0));
        assert.equal(summary.cells[c].startOffsetMs, 0);
        assert.equal(summary.cells[c].invalid, undefined);
        // The timeline too: every bin exactly; the window's marks to the µs (requests.jsonl rounds sends and E2Es apart).
        const { window, ...bins } = expected.timeline!;
        const { window: mergedWindow, ...mergedBins } = summary.cells[c].timeline;
        assert.deepEqual(mergedBins, JSON.parse(JSON.stringify(bins)), `N=${count} c=${level}: every bin of the timeline`);
        for (const edge of ['startMs', 'endMs'] as const) assert.ok(Math.abs(mergedWindow[edge] - window![edge]) <= 0.0015, `N=${count} c=${level}: window ${edge}`);
        assert.equal(bins.started.reduce((a, b) => a + b, 0), records.length);
        // Every shard started the cell at its scheduled time (cell 1: after cell 0’s 1 s warm-up, 2 s and the gap): its first send is then.
        assert.equal(bins.startUnixMs, T0 + START_AFTER_MS + (c === 0 ? 0 : 1_000 + 2_000 + GAP_MS));
      }
      const lines = await readRequests(out);
      assert.equal(lines.length, shards.reduce((sum, shard) => sum + shard.records.length, 0));
      assert.equal(new Set(lines.map((line) => line.id)).size, lines.length, `N=${count}: request ids are unique across shards`);
      assert.deepEqual([...new Set(lines.map((line) => line.shard))].sort(), Array.from({ length: count }, (_, i) => i));
      // Every slot of the cell once, from the shard that owns it.
      const slots = lines.filter((line) => line.concurrency === 7).map((line) => `${line.slot}:${line.shard}`);
      assert.deepEqual([...new Set(slots)].sort(), Array.from({ length: 7 }, (_, slot) => `${slot}:${slot % count}`).sort());
    }
  }));

test('an open loop split over shards: the union of the shards’ scheduled times is the single process’s schedule', () =>
  withTempDir(async (dir) => {
    const text = scenarioText('{rate: [40, 15], arrival: poisson, duration: 1500ms, warmup: 500ms}');
    const scenario = parseScenario(text, 'whole.yaml', {});
    // Unix time 0 at the clock's 0: times stay small, so a double holds them to far below a µs (1.9e12 ms holds 0.24 µs).
    const t0 = 0;
    // One process, the whole cell: its arrivals relative to each cell's first.
    const clock = new VirtualClock();
    const whole: RequestRecord[] = [];
    await clock.run(
      collectRun(scenarioEvents(scenario, { baseURL: '', clock, client: new VirtualServer(clock, FAST), wallClockOrigin: { clockMs: 0, unixMs: t0 } }), (event) => {
        if (event.type === 'record') whole.push(event.record);
      }),
    );
    const schedule = (records: RequestRecord[]) => {
      const first = new Map<number, number>();
      for (const r of records) first.set(r.load.value, Math.min(first.get(r.load.value) ?? Infinity, r.scheduledAtUnixMs!));
      return records.map((r) => `${r.load.value} ${r.id.replace(/^c\d+/, '')} ${(r.scheduledAtUnixMs! - first.get(r.load.value)!).toFixed(6)} ${r.warmup}`).sort();
    };
    const expected = schedule(whole);
    assert.ok(expected.length > 60);
    const { shards } = await runShards(dir, text, 3, { t0 });
    assert.deepEqual(schedule(shards.flatMap((shard) => shard.records)), expected);
    for (const [i, shard] of shards.entries()) {
      assert.ok(shard.records.every((r) => Number(r.id.split('-')[1]) % 3 === i), `shard ${i} sends its own arrivals`);
      // Cell k starts at start-at + k × (warm-up + duration + gap): its first arrival then, to the µs.
      const cell2 = shard.records.filter((r) => r.load.value === 15).map((r) => r.scheduledAtUnixMs!);
      if (i === 0) assert.equal(Math.min(...cell2), t0 + START_AFTER_MS + (500 + 1500 + GAP_MS));
    }
    // The merged folder's requests.jsonl carries the same schedule.
    const out = path.join(dir, 'merged');
    const { code, io } = await merge(
      shards.map((shard) => shard.dir),
      out,
    );
    assert.equal(code, 0, io.err());
    const lines = await readRequests(out);
    assert.equal(lines.length, whole.length);
  }));

test('shards that start late record their offset; beyond load.maxStartOffset the merged cell is invalid, naming the shard', () =>
  withTempDir(async (dir) => {
    const text = scenarioText('{concurrency: [4, 2], duration: 1s, warmup: 200ms}');
    // Cell 0 is due 5 s after the clock's 0, cell 1 at 5 s + (1.2 s + 2 s gap). Shard 1's process starts
    // 300 ms after cell 0's start (within the 1 s bound); shard 2's 1.5 s after it, and catches up in the gap.
    const { shards } = await runShards(dir, text, 3, { lateMs: [0, 5_300, 6_500] });
    const offsets = shards.map((shard) => shard.cells.map((cell) => cell.startOffsetMs));
    assert.deepEqual(offsets, [
      [0, 0],
      [300, 0],
      [1_500, 0],
    ]);
    for (const shard of shards) {
      for (const record of shard.records) assert.equal(record.startOffsetMs, shard.cells.find((cell) => cell.load.value === record.load.value)!.startOffsetMs);
    }
    assert.match(shards[2]!.cells[0]!.invalid ?? '', /^started 1500 ms after the cell's scheduled start > 1000 ms \(load.maxStartOffset\)/);
    assert.equal(shards[1]!.cells[0]!.invalid, undefined);
    assert.equal(shards[2]!.cells[1]!.invalid, undefined);

    const out = path.join(dir, 'merged');
    const { code, io } = await merge(
      shards.map((shard) => shard.dir),
      out,
    );
    // One cell of two invalid: a warning, exit 0, as `run` exits.
    assert.equal(code, 0, io.err());
    assert.match(io.err(), /warning: 1 of 2 cells invalid/);
    const summary = await readJson(path.join(out, 'summary.json'));
    assert.deepEqual(
      summary.cells.map((cell: CellSummary) => [cell.startOffsetMs, cell.invalid?.replace(/ ms after.*/, '')]),
      [
        [1_500, 'shard 2/3: started 1500'],
        [0, undefined],
      ],
    );
    assert.ok((await readRequests(out)).filter((line) => line.shard === 1 && line.concurrency === 4).every((line) => line.start_offset_ms === 300));

    // Without the late shard the run is incomplete: refused unless allowed, and then marked incomplete.
    const partial = await merge([shards[0]!.dir, shards[1]!.dir], path.join(dir, 'partial'));
    assert.equal(partial.code, 2);
    assert.match(partial.io.err(), /has 3 shards, but shard 2\/3 is not given/);
    const allowed = await merge([shards[0]!.dir, shards[1]!.dir], path.join(dir, 'allowed'), ['--allow-incomplete']);
    assert.equal(allowed.code, 130, allowed.io.err());
    const run = await readJson(path.join(dir, 'allowed', 'run.json'));
    assert.equal(run.completed, false);
    assert.match(run.incomplete_reason, /1 of 3 shards missing/);
  }));

test('merge refuses folders of different scenarios, the same shard twice, and shard counts that disagree', () =>
  withTempDir(async (dir) => {
    const text = scenarioText('{concurrency: 2, duration: 500ms, warmup: 100ms}');
    await mkdir(path.join(dir, 'a'));
    await mkdir(path.join(dir, 'b'));
    await mkdir(path.join(dir, 'c'));
    const { shards: a } = await runShards(path.join(dir, 'a'), text, 2);
    const { shards: b } = await runShards(path.join(dir, 'b'), text.replace('prompts: [hi,', 'prompts: [hello,'), 2);
    const { shards: c } = await runShards(path.join(dir, 'c'), text, 3);

    const different = await merge([a[0]!.dir, b[1]!.dir], path.join(dir, 'm1'));
    assert.equal(different.code, 2);
    assert.match(different.io.err(), new RegExp(`${b[1]!.dir} ran a different scenario from ${a[0]!.dir} \\(they differ in prompts\\[0\\]\\.messages\\[0\\]\\.content\\)`));

    const twice = await merge([a[0]!.dir, a[1]!.dir, a[1]!.dir], path.join(dir, 'm2'));
    assert.equal(twice.code, 2);
    assert.match(twice.io.err(), /are both shard 1\/2 of the run starting at 2030-01-01T12:00:05.000Z: their requests overlap/);

    const counts = await merge([a[0]!.dir, c[1]!.dir], path.join(dir, 'm3'));
    assert.equal(counts.code, 2);
    assert.match(counts.io.err(), /inconsistent shards of the run starting at 2030-01-01T12:00:05.000Z/);

    // Nothing was written for a refused merge.
    for (const name of ['m1', 'm2', 'm3']) await assert.rejects(readFile(path.join(dir, name, 'run.json')));
  }));

test('two whole runs of one scenario merge as two repeats: each its own cell, then the two merged with their spread', () =>
  withTempDir(async (dir) => {
    const text = scenarioText('{concurrency: 2, duration: 500ms, warmup: 100ms}');
    await mkdir(path.join(dir, 'x'));
    await mkdir(path.join(dir, 'y'));
    const { shards: x } = await runShards(path.join(dir, 'x'), text, 1);
    const { shards: y } = await runShards(path.join(dir, 'y'), text, 1);
    // Whole runs (not shards): strip their shard identity as `run` without --shard writes none.
    for (const shard of [...x, ...y]) {
      const file = path.join(shard.dir, 'run.json');
      const { shard: _, ...run } = await readJson(file);
      await writeFile(file, JSON.stringify(run));
    }
    const out = path.join(dir, 'merged');
    const { code, io } = await merge([x[0]!.dir, y[0]!.dir], out);
    assert.equal(code, 0, io.err());
    const summary = await readJson(path.join(out, 'summary.json'));
    assert.deepEqual(
      summary.cells.map((cell: CellSummary) => [cell.repeat, cell.repeats?.count, cell.requests]),
      [
        [1, undefined, x[0]!.cells[0]!.requests],
        [2, undefined, y[0]!.cells[0]!.requests],
        [undefined, 2, x[0]!.cells[0]!.requests + y[0]!.cells[0]!.requests],
      ],
    );
    const lines = await readRequests(out);
    assert.deepEqual([...new Set(lines.map((line) => line.repeat))], [1, 2]);
  }));

test("a trace split over 3 shards: line n is shard n mod 3's, each cell starts on schedule, and the shards' arrivals together are the trace exactly", () =>
  withTempDir(async (dir) => {
    const trace = path.join(dir, 'trace.jsonl');
    await writeFile(
      trace,
      [0, 0.125, 0.125, 0.5, 1.75].map((timestamp, n) => JSON.stringify({ timestamp, input_tokens: 5 + n, output_tokens: 3 })).join('\n'),
    );
    const text = `name: sharded\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nload: {trace: {file: ${JSON.stringify(trace)}, speedup: [1, 2]}}\n`;
    const { shards } = await runShards(dir, text, 3);
    // Cell 1 starts 5 s after T0; cell 2 after cell 1's timed span (the trace at ×1, 1.75 s) and the gap.
    const starts = [T0 + START_AFTER_MS, T0 + START_AFTER_MS + 1750 + GAP_MS];
    for (const [c, speedup] of [1, 2].entries()) {
      const arrivals = shards.flatMap((shard, index) =>
        shard.records.filter((record) => record.load.trace?.speedup === speedup).map((record) => ({ n: Number(record.id.split('-')[1]), index, at: record.scheduledAtUnixMs! - starts[c]! })),
      );
      arrivals.sort((a, b) => a.n - b.n);
      assert.deepEqual(arrivals.map((arrival) => arrival.n), [0, 1, 2, 3, 4]);
      assert.deepEqual(arrivals.map((arrival) => arrival.index), [0, 1, 2, 0, 1]);
      assert.deepEqual(arrivals.map((arrival) => arrival.at), [0, 125, 125, 500, 1750].map((offset) => offset / speedup));
      // Line 0, shard 0's, is the cell's one warm-up arrival; no other shard marks one.
      const warm = shards.flatMap((shard) => shard.records.filter((record) => record.load.trace?.speedup === speedup && record.warmup).map((record) => record.id.split('-')[1]));
      assert.deepEqual(warm, ['0']);
    }
    const out = path.join(dir, 'merged');
    const { code, io } = await merge(shards.map((shard) => shard.dir), out);
    assert.equal(code, 0, io.err());
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.cells.map((cell: CellSummary) => [cell.load.trace, cell.requests]), [[{ speedup: 1 }, 4], [{ speedup: 2 }, 4]]);
  }));
