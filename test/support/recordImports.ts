/**
 * Preloaded with `node --import ./test/support/recordImports.ts`: records the URL of
 * every module the process loads (ESM and CommonJS) and, when the process exits, writes
 * them one per line to the file named by `VIGIE_RECORD_IMPORTS`. The lazy-command test
 * and the startup bench use it to check which packages a `vigie` command pulls in.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env['VIGIE_RECORD_IMPORTS'];
if (out === undefined || out === '') throw new Error('recordImports.ts: set VIGIE_RECORD_IMPORTS to the output file');
const urls = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    urls.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(out, [...urls].join('\n') + '\n'));
