/**
 * `vigie status …`: the student-facing status notices. `serve` runs the status page;
 * `list`, `hold`, `publish`, `edit`, `clear` and `mode` let an operator act on the
 * notices the rules stage published (same state file; webhooks told of each change).
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { createStatusPublisher, publicView, readStatusState, startStatusServer } from '../../status/index.ts';
import { floatOption } from '../options.ts';

const DEFAULT_STATE = '.vigie/status.json';

interface Common {
  readonly state: string;
  readonly webhook?: string[];
}

const publisherOf = (o: Common) => createStatusPublisher({ statePath: o.state, ...(o.webhook ? { webhookUrls: o.webhook } : {}) });
const print = (x: unknown): void => {
  process.stdout.write(JSON.stringify(x, null, 2) + "\n");
};

/** Registers `vigie status`. */
export function registerStatusCommand(program: Command): void {
  const status = program.command('status').description('Student-facing status notices: serve the status page; hold, edit, publish or clear a notice.');
  const stateOpt = () => new Option('--state <file>', 'status state file shared with the rules stage').default(DEFAULT_STATE);
  const hookOpt = () => new Option('--webhook <url...>', 'tell these webhooks (CMS, intranet) of the change');

  status
    .command('serve')
    .description('Serve the bilingual status page (/) and its JSON (/status.json).')
    .addOption(stateOpt())
    .option('--port <n>', 'port', floatOption('--port'), 8088)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (o: { state: string; port: number; host: string }) => {
      const s = await startStatusServer({ statePath: o.state, port: o.port, host: o.host });
      process.stdout.write(`status page on ${s.url}/ (state ${o.state})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await s.stop();
    });

  status
    .command('list')
    .description('List notices (public text and state).')
    .addOption(stateOpt())
    .action((o: Common) => {
      const s = readStatusState(o.state);
      print({ mode: s.mode, notices: s.notices.map(publicView) });
    });

  for (const [name, what] of [
    ['hold', 'Hold a notice: take it off the page (an operator publishes it later).'],
    ['publish', 'Publish a held or edited notice now.'],
    ['clear', 'Clear a notice (the incident is over).'],
  ] as const) {
    status
      .command(`${name} <id>`)
      .description(what)
      .addOption(stateOpt())
      .addOption(hookOpt())
      .action(async (id: string, o: Common) => print(publicView(await publisherOf(o)[name](id))));
  }

  status
    .command('edit <id>')
    .description('Replace the text of a notice (kept as written on later updates).')
    .addOption(stateOpt())
    .addOption(hookOpt())
    .option('--fr-title <text>')
    .option('--fr-body <text>')
    .option('--en-title <text>')
    .option('--en-body <text>')
    .action(async (id: string, o: Common & { frTitle?: string; frBody?: string; enTitle?: string; enBody?: string }) => {
      const pick = (title?: string, body?: string) => ({ ...(title !== undefined ? { title } : {}), ...(body !== undefined ? { body } : {}) });
      print(publicView(await publisherOf(o).edit(id, { fr: pick(o.frTitle, o.frBody), en: pick(o.enTitle, o.enBody) })));
    });

  status
    .command('mode <mode>')
    .description('auto: new notices are published at once; hold: they wait for `vigie status publish`.')
    .addOption(stateOpt())
    .action((mode: string, o: Common) => {
      if (mode !== 'auto' && mode !== 'hold') throw new ConfigError(`vigie status mode: expected auto or hold, got "${mode}"`);
      publisherOf(o).setMode(mode);
      print({ mode });
    });
}
