#!/usr/bin/env node
// Entry point of the `vigie` command: runs the TypeScript sources through tsx's ESM
// loader, so there is no build step between a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
if (process.argv[2] === 'detect') {
  // A CSV filter: skip loading the whole chain (cli/commands/detect.ts, detectMain).
  const { detectMain } = await import('../cli/commands/detect.ts');
  process.exitCode = await detectMain(process.argv);
} else {
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv);
}
