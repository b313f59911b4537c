/**
 * One load worker thread (load-workers.ts starts it): its own ChatClient, its
 * share of each cell's load, its own event loop watched for the client-health
 * rule. Every request it finishes goes back to the main thread, which counts
 * and aggregates; nothing here tokenizes or aggregates.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChatClient } from '../client/chat-client.js';
import type { Exchange } from '../types.js';
import { shiftedClock, systemClock, threadClockOrigin } from '../util/clock.js';
import type { FinishedRequest, SendRequest } from './cell-budget.js';
import { cellLoad } from './cell-load.js';
import { startClientHealthMonitor } from './client-health.js';
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker, WireRequest, WorkerCell } from './load-workers.js';

const data = workerData as LoadWorkerData;
const port = parentPort!;
const post = (message: FromLoadWorker): void => port.postMessage(message);

// This thread's performance.now() moved onto the main thread's: every stamp, ts and deadline is on its clock.
const offsetMs = threadClockOrigin() - data.mainOrigin;
const clock = shiftedClock(systemClock, offsetMs);
const { target } = data;
const client = new ChatClient({
  baseURL: data.baseURL,
  api: target.api,
  ...(target.apiKey !== undefined ? { apiKey: target.apiKey } : {}),
  headers: target.headers,
  newConnectionPerRequest: target.newConnectionPerRequest,
  secrets: data.secrets,
  clock,
});
// One for the run: Ctrl-C stops every cell from then on.
const interrupt = new AbortController();

/** Finished requests wait here until the turn of the event loop ends: one message for all that finished in it. */
let batch: { cell: number; requests: WireRequest[] } | undefined;
const flush = (): void => {
  if (batch) post({ type: 'finished', ...batch });
  batch = undefined;
};
function queue(cell: number, request: FinishedRequest): void {
  const { messages: _, ...wire } = request;
  if (!batch) {
    batch = { cell, requests: [] };
    setImmediate(flush);
  }
  batch.requests.push(wire);
}

async function runCell(cell: WorkerCell): Promise<void> {
  const send: SendRequest = ({ id, prompt, messages, ts }): Promise<Exchange> =>
    client.send({
      id,
      model: cell.model,
      messages,
      params: cell.params[prompt]!,
      ...(ts !== undefined ? { ts } : {}),
      timeoutMs: target.timeoutMs,
      idleTimeoutMs: target.idleTimeoutMs,
      interrupt: interrupt.signal,
    });
  const monitor = startClientHealthMonitor();
  let sent = 0;
  try {
    const { requests } = cellLoad({ load: data.load, seed: data.seed }, cell.load, cell.prompts, cell.idPrefix, send, { clock, interrupt: interrupt.signal, startAt: cell.startAt }, cell.share);
    for await (const request of requests) {
      sent++;
      queue(cell.cell, request);
    }
  } catch (error) {
    flush();
    monitor.stop();
    post({ type: 'cell-failed', cell: cell.cell, message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // A worker whose share of the cell is empty (fewer slots than workers) read nothing: it has no health to report.
  const watched = monitor.stop();
  const health = sent > 0 ? watched : undefined;
  // Every request of the cell before the word that it is done: one port delivers them in order.
  flush();
  post({ type: 'cell-done', cell: cell.cell, ...(health ? { health } : {}) });
}

port.on('message', (message: ToLoadWorker) => {
  if (message.type === 'cell') void runCell(message);
  else if (message.type === 'interrupt') interrupt.abort();
  else if (message.type === 'close') {
    client.close();
    port.close();
  }
});
post({ type: 'ready' });
