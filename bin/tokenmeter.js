#!/usr/bin/env node
// Runs the compiled JavaScript in dist/, which `npm ci` and `npm install` build
// (the `prepare` script) and the published package ships. Only a checkout
// whose dev dependencies are installed but whose build was skipped
// (`npm ci --ignore-scripts`) falls back to the TypeScript source through
// tsx's loader, a devDependency: slower to start, same behaviour.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
