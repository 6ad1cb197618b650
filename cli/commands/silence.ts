/**
 * `vigie silence add|list|expire`: silences and maintenance windows for the pager's
 * direct receivers, kept in a JSON file (default `.vigie/silences.json`, or
 * `--file`, or VIGIE_SILENCES_FILE) that a running pager re-reads when it changes.
 * A maintenance window is a silence with `--start` in the future.
 */
import { userInfo } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import type { Clock } from '../../core/clock.ts';
import { systemClock } from '../../core/clock.ts';
import { ConfigError } from '../../core/errors.ts';
import { tryParseDuration } from '../../rules/duration.ts';
import { parseMatcher } from '../../paging/routing/matchers.ts';
import { addSilence, expireSilence, readSilences, silenceState, type Silence } from '../../paging/routing/silences.ts';

/** Seams for tests: the clock and where output goes. */
export interface SilenceCommandDeps {
  readonly clock?: Clock;
  readonly out?: (text: string) => void;
}

const DEFAULT_FILE = '.vigie/silences.json';

function fileOf(opts: { file?: string }): string {
  return opts.file ?? process.env['VIGIE_SILENCES_FILE'] ?? DEFAULT_FILE;
}

/** Parses an absolute time (ISO 8601, e.g. 2026-06-15T08:00:00+02:00) or a relative one (`+30m`). */
export function parseTime(text: string, now: number, flag: string): number {
  if (text.startsWith('+')) {
    const ms = tryParseDuration(text.slice(1));
    if (ms !== undefined) return now + ms;
  }
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new ConfigError(`${flag} ${text}: expected an ISO-8601 time such as 2026-06-15T08:00:00+02:00, or +DURATION such as +30m`);
  return t;
}

const durationOption = (v: string): number => {
  const ms = tryParseDuration(v);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a duration such as 30m, 2h, 1h30m');
  return ms;
};

const checkMatcher = (v: string): void => {
  try {
    parseMatcher(v);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
};

function describeSilence(s: Silence, now: number): string {
  const state = silenceState(s, now);
  return [s.id.slice(0, 8), state.padEnd(7), s.startsAt, '→', s.endsAt, s.matchers.join(','), `by ${s.createdBy}: ${s.comment}`].join('  ');
}

/** Registers `vigie silence` and its sub-commands. */
export function registerSilenceCommand(program: Command, deps: SilenceCommandDeps = {}): void {
  const clock = deps.clock ?? systemClock;
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  const silence = program
    .command('silence')
    .description('Silence direct pages (PagerDuty, chat, webhook, mail) by label matchers, now or as a scheduled maintenance window. Alertmanager receivers use Alertmanager\'s own silences (amtool).');

  silence
    .command('add')
    .description('Add a silence. Matchers: name=value, name!=value, name=~regex, name!~regex (all must match).')
    .argument('<matchers...>', 'label matchers, e.g. faculty=law severity!=info exam=~"math-.*"')
    .option('--for <duration>', 'how long the silence lasts from its start (e.g. 2h, 30m)', durationOption)
    .option('--end <time>', 'end time instead of --for (ISO 8601 or +DURATION)')
    .option('--start <time>', 'start time for a maintenance window (ISO 8601 or +DURATION; default now)')
    .requiredOption('--comment <text>', 'why (shown to whoever wonders where the pages went)')
    .option('--author <name>', 'who (default: the current user)')
    .option('--file <path>', `silences file (default ${DEFAULT_FILE} or VIGIE_SILENCES_FILE)`)
    .addHelpText('after', '\nExamples:\n  vigie silence add faculty=law --for 2h --comment "law exam moved to paper"\n  vigie silence add \'faculty=~"med|sci"\' --start 2026-06-15T07:30:00+02:00 --for 1h --comment "planned upgrade"\n')
    .action((matchers: string[], o: { for?: number; end?: string; start?: string; comment: string; author?: string; file?: string }) => {
      const now = clock();
      for (const m of matchers) checkMatcher(m);
      if ((o.for === undefined) === (o.end === undefined)) throw new ConfigError('give exactly one of --for DURATION or --end TIME');
      const startsAt = o.start ? parseTime(o.start, now, '--start') : now;
      const endsAt = o.end ? parseTime(o.end, now, '--end') : startsAt + o.for!;
      let author = o.author;
      if (!author) {
        try {
          author = userInfo().username;
        } catch {
          author = process.env['USER'] ?? 'unknown';
        }
      }
      const s = addSilence(fileOf(o), { matchers, startsAt, endsAt, createdBy: author, comment: o.comment }, now);
      out(`${s.id}\n`);
      out(`silence ${silenceState(s, now)} from ${s.startsAt} until ${s.endsAt}: ${s.matchers.join(', ')}\n`);
    });

  silence
    .command('list')
    .description('List silences: active and pending (scheduled) by default.')
    .option('--all', 'include expired silences')
    .option('--json', 'print JSON')
    .option('--file <path>', `silences file (default ${DEFAULT_FILE} or VIGIE_SILENCES_FILE)`)
    .action((o: { all?: boolean; json?: boolean; file?: string }) => {
      const now = clock();
      const list = readSilences(fileOf(o)).filter((s) => o.all || silenceState(s, now) !== 'expired');
      if (o.json) {
        out(JSON.stringify(list.map((s) => ({ ...s, state: silenceState(s, now) })), null, 2) + '\n');
        return;
      }
      if (list.length === 0) {
        out('no silences\n');
        return;
      }
      for (const s of list) out(describeSilence(s, now) + '\n');
    });

  silence
    .command('expire')
    .description('End a silence now (by id or a unique id prefix, as shown by list).')
    .argument('<id>', 'silence id or prefix')
    .option('--file <path>', `silences file (default ${DEFAULT_FILE} or VIGIE_SILENCES_FILE)`)
    .action((id: string, o: { file?: string }) => {
      const s = expireSilence(fileOf(o), id, clock());
      out(`expired ${s.id} (${s.matchers.join(', ')})\n`);
    });
}
