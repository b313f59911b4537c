/**
 * A cell's load level as one identity: its kind and value, and what a ramp or a replayed trace
 * adds to them. A 2→20 req/s ramp and a steady 2 req/s cell share a kind and a value, but they are
 * not the same cell: wherever cells are matched (check, compare, merge, the folder's own
 * consistency), they are matched by `loadKey`.
 */

/** A load level, as types.ts's LoadLevel has it (structural: util imports nothing). */
export interface LoadIdentity {
  kind: 'concurrency' | 'rate';
  value: number;
  ramp?: { toRate: number; overMs: number };
  trace?: { speedup: number };
}

/** The load level's identity as a string: equal for the same cell's level, different for a ramp, a trace or a speed-up. */
export function loadKey(load: { kind: string; value: number; ramp?: LoadIdentity['ramp'] | undefined; trace?: LoadIdentity['trace'] | undefined }): string {
  const ramp = load.ramp ? `\u0000ramp\u0000${load.ramp.toRate}\u0000${load.ramp.overMs}` : '';
  const trace = load.trace ? `\u0000trace\u0000${load.trace.speedup}` : '';
  return `${load.kind}\u0000${load.value}${ramp}${trace}`;
}

/** A cell's identity (model and load level, any repeat left out): how check, compare and merge match cells. */
export const cellId = (cell: { model: string; load: Parameters<typeof loadKey>[0] }): string => `${cell.model}\u0000${loadKey(cell.load)}`;

/** A load level's fields in requests.jsonl and histograms.json (report/json.ts loadFields). */
export interface LoadFields {
  concurrency?: number | undefined;
  rate?: number | undefined;
  ramp_to?: number | undefined;
  ramp_over_ms?: number | undefined;
  trace_speedup?: number | undefined;
}

/** The load level the fields name (the inverse of report/json.ts loadFields); undefined with neither concurrency nor rate. */
export function loadOfFields(fields: LoadFields): LoadIdentity | undefined {
  if (fields.concurrency !== undefined) return { kind: 'concurrency', value: fields.concurrency };
  if (fields.rate === undefined) return undefined;
  const load: LoadIdentity = { kind: 'rate', value: fields.rate };
  if (fields.ramp_to !== undefined && fields.ramp_over_ms !== undefined) load.ramp = { toRate: fields.ramp_to, overMs: fields.ramp_over_ms };
  if (fields.trace_speedup !== undefined) load.trace = { speedup: fields.trace_speedup };
  return load;
}
