// Worker thread entry for the simulator when it runs from the TypeScript source
// (tests, the bench, a checkout without dist/). Plain JavaScript so it starts
// however the parent was launched, then loads worker.ts through tsx's loader.
// The compiled package starts dist/sim/worker.js instead (threaded.ts).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
