/** How a load level reads in tables and charts. */
import type { LoadLevel } from '../types.js';

/** `c=8` for closed-loop concurrency, `4 req/s` for an open-loop rate. */
export function loadLabel(load: LoadLevel): string {
  return load.kind === 'concurrency' ? `c=${load.value}` : `${load.value} req/s`;
}
