#!/usr/bin/env node
// Entry point of the `vigie` command. Node (>= 22.15; Vigie targets Node 24 LTS) runs
// the TypeScript sources directly by type stripping: no build step between a checkout
// and a working CLI, and no compiler loaded on start. Node 22.15-22.17 strip types
// only behind a flag, so there the command re-runs itself with it. Compiled code is
// cached on disk (Node's module compile cache, in the OS temp directory; set
// NODE_DISABLE_COMPILE_CACHE=1 to turn it off), which halves the start of the commands
// that load chDB, Kafka and OpenTelemetry.
import { spawnSync } from 'node:child_process';
import * as nodeModule from 'node:module';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(`vigie: Node ${process.versions.node} is too old; Vigie needs Node >= 22.15 (Node 24 LTS recommended). ` +
    '`source scripts/node.sh` puts a Node 24 from the npm registry first on PATH.\n');
  process.exit(2);
}
if (!process.features.typescript) {
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
nodeModule.enableCompileCache?.();
const { main, requestedCommand } = await import('../cli/main.ts');
// V8 heap sizing is fixed when the process starts (v8.setFlagsFromString comes too late),
// and so are the C library's malloc tunables, so a command that declares V8 flags
// (`collect`: a small young generation) or environment (`ingest`: fewer malloc arenas)
// re-executes this process in place with them: same pid, same stdio, no parent left
// behind. A flag or variable the user already gives (command line, NODE_OPTIONS, the
// environment) wins; Node without process.execve (Windows) runs with the defaults.
const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
const command = requestedCommand(process.argv.slice(2));
const missing = (command?.v8Flags ?? []).filter((f) => !given.includes(f.split('=')[0]));
const missingEnv = Object.entries(command?.env ?? {}).filter(([k]) => process.env[k] === undefined);
if ((missing.length > 0 || missingEnv.length > 0) && typeof process.execve === 'function') {
  nodeModule.flushCompileCache?.();
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, ...Object.fromEntries(missingEnv) });
}
// A command may set its own exit code (the demo's 3: paged after the collapse); main()'s 0 must not hide it.
const code = await main(process.argv);
if (code !== 0 || !process.exitCode) process.exitCode = code;
