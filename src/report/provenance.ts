/**
 * Where a report's numbers came from: the target's host, tokenmeter's and
 * Node's versions, the scenario and its parameters, when it ran and whether
 * it finished. Built from run.json's facts, so `run` and `report` (which reads
 * run.json back) show the same block. Never an API key, a header or a URL path.
 */

import type { CellSummary } from '../metrics/cell-summary.js';
import type { RunInfo } from './json.js';

/** The facts of run.json the block is made from (what RunInfo holds, with times as ISO strings). */
export interface ProvenanceSource {
  /** The URL requests went to. Only its origin is kept. */
  baseURL?: string;
  tokenmeterVersion?: string;
  nodeVersion?: string;
  /** ISO times. */
  startedAt?: string;
  endedAt?: string;
  completed: boolean;
  scenario: {
    name: string;
    file?: string;
    // `| undefined`: run.json read back gives absent fields as undefined.
    target?: { api?: string | undefined };
    load?: {
      kind?: string | undefined;
      levels?: readonly number[] | undefined;
      requests?: number | undefined;
      durationMs?: number | undefined;
      warmup?: number | undefined;
      warmupMs?: number | undefined;
      arrival?: string | undefined;
      burstiness?: number | undefined;
      ramp?: { toRate?: number | undefined; overMs?: number | undefined } | undefined;
      // run.json records a trace's count of arrivals; the Scenario in a run has the arrivals themselves.
      trace?: { file?: string | undefined; speedups?: readonly number[] | undefined; arrivals?: number | undefined; offsetsMs?: readonly number[] | undefined } | undefined;
    };
    params?: Record<string, unknown>;
  };
}

/** The block, as label → text (plain text, escaped when rendered), in display order. */
export type Provenance = [label: string, value: string][];

/** Parameter names that may hold a credential: shown as [redacted], never their value. */
const SECRET_NAME = /api[-_]?key|secret|password|passwd|authorization|bearer|credential|access[-_]?token/i;

/**
 * `https://api.example.com:8443`: scheme, host and port only. A user, a
 * password, a path or a query (where a key may hide) never get through.
 */
export function targetHost(baseURL: string | undefined): string {
  if (baseURL === undefined || baseURL === '') return 'unknown';
  try {
    const origin = new URL(baseURL).origin;
    return origin === 'null' ? 'unknown' : origin;
  } catch {
    return 'unknown';
  }
}

/** `1 h 2 min 3.4 s`, `850 ms`. */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return [hours > 0 ? `${hours} h` : '', hours > 0 || minutes > 0 ? `${minutes} min` : '', `${seconds.toFixed(1)} s`].filter(Boolean).join(' ');
}

function paramsText(params: Record<string, unknown> | undefined): string {
  const entries = Object.entries(params ?? {});
  if (entries.length === 0) return 'none';
  return entries.map(([name, value]) => `${name}: ${SECRET_NAME.test(name) ? '[redacted]' : JSON.stringify(value)}`).join(', ');
}

function loadText(load: ProvenanceSource['scenario']['load'], repeat: number | undefined): string {
  if (!load) return 'unknown';
  const { ramp, trace } = load;
  const parts = [
    trace
      ? `trace ${trace.file ?? 'unknown'} (${trace.arrivals ?? trace.offsetsMs?.length ?? '?'} arrivals) at ×${(trace.speedups ?? [1]).join(', ×')}`
      : ramp
        ? `rate ramp ${(load.levels ?? []).join(', ')}→${ramp.toRate ?? '?'} req/s over ${ramp.overMs === undefined ? 'unknown' : durationText(ramp.overMs)}`
        : `${load.kind ?? 'load'} ${(load.levels ?? []).join(', ')}${load.kind === 'rate' ? ' req/s' : ''}`,
  ];
  if (load.kind === 'rate' && load.arrival && !trace) parts.push(`${load.arrival} arrivals${load.burstiness !== undefined ? ` (burstiness ${load.burstiness})` : ''}`);
  if (load.requests !== undefined) parts.push(`${load.requests} requests per cell`);
  if (load.durationMs !== undefined) parts.push(`${durationText(load.durationMs)} per cell`);
  if (load.warmup !== undefined) parts.push(`${load.warmup} warm-up`);
  if (load.warmupMs !== undefined) parts.push(`${durationText(load.warmupMs)} warm-up`);
  if (repeat !== undefined && repeat > 1) parts.push(`each cell ${repeat} times (--repeat ${repeat})`);
  return parts.join('; ');
}

/** The block's rows; `repeat` is how many times each cell ran (from the cells' `repeats`). */
export function provenanceOf(source: ProvenanceSource, repeat?: number): Provenance {
  const { scenario } = source;
  const started = source.startedAt ? Date.parse(source.startedAt) : NaN;
  const ended = source.endedAt ? Date.parse(source.endedAt) : NaN;
  return [
    ['target host', targetHost(source.baseURL)],
    ['API', scenario.target?.api ?? 'unknown'],
    ['scenario', scenario.file ? `${scenario.name} (${scenario.file})` : scenario.name],
    ['load', loadText(scenario.load, repeat)],
    ['request parameters', paramsText(scenario.params)],
    ['started', source.startedAt ?? 'unknown'],
    ['ended', source.endedAt ?? 'unknown'],
    ['duration', durationText(ended - started)],
    ['status', source.completed ? 'completed' : 'interrupted (Ctrl-C): the results are incomplete'],
    ['tokenmeter', source.tokenmeterVersion ?? 'unknown'],
    ['Node', source.nodeVersion ?? 'unknown'],
  ];
}

/** What `run` knows as it writes run.json, as the block reads it. */
export function provenanceSourceOf(info: RunInfo): ProvenanceSource {
  return {
    baseURL: info.baseURL,
    tokenmeterVersion: info.tokenmeterVersion,
    nodeVersion: info.nodeVersion,
    startedAt: info.startedAt.toISOString(),
    endedAt: info.endedAt.toISOString(),
    completed: info.completed,
    scenario: info.scenario,
  };
}

/** How many times each cell ran (`run --repeat K`): K from the merged cells, undefined when they ran once. */
export function repeatCount(cells: readonly CellSummary[]): number | undefined {
  const counts = cells.flatMap((cell) => (cell.repeats ? [cell.repeats.count] : []));
  return counts.length === 0 ? undefined : Math.max(...counts);
}
