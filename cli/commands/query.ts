/**
 * `vigie query NAME --param k=v …`: runs a saved post-mortem query
 * (`postmortem/queries/NAME.sql`) with typed, bound parameters and prints it as a table,
 * CSV or JSON. Without NAME it lists the saved queries and their parameters.
 */
import { Command, InvalidArgumentError } from 'commander';
import { explainMissingDatabase, openReaderStorage } from '../storage.ts';
import { bindParams, describeParam, formatResult, listSavedQueries, loadSavedQuery, runSavedQuery } from '../../postmortem/savedQueries.ts';

interface QueryFlags {
  readonly param: Record<string, string>;
  readonly format: 'table' | 'csv' | 'json';
  readonly clickhouseUrl?: string;
  readonly chdbPath?: string;
  readonly database: string;
}

/** Collects repeated `--param k=v` into an object. */
function paramOption(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--param expects NAME=VALUE, got "${v}"`);
  const k = v.slice(0, i);
  if (!/^\w+$/.test(k)) throw new InvalidArgumentError(`--param name must be letters, digits and _, got "${k}"`);
  return { ...prev, [k]: v.slice(i + 1) };
}

const formatOption = (v: string): QueryFlags['format'] => {
  if (v !== 'table' && v !== 'csv' && v !== 'json') throw new InvalidArgumentError(`--format expects table, csv or json, got "${v}"`);
  return v;
};

/** The saved queries as help text. */
export function savedQueriesHelp(): string {
  return listSavedQueries()
    .map((q) => `  ${q.name}\n      ${q.description}\n      params: ${q.params.map(describeParam).join(', ')}`)
    .join('\n');
}

/** Registers `vigie query`. */
export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description('Run a saved post-mortem query (postmortem/queries/NAME.sql) with bound parameters; without NAME, list them.')
    .argument('[name]', 'saved query name')
    .option('--param <k=v>', 'query parameter (repeatable); times as ISO 8601 or epoch ms', paramOption, {})
    .option('--format <f>', 'table, csv or json', formatOption, 'table')
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (default: embedded chDB, read through the endpoint of the Vigie process holding it)')
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb, the one every command uses)')
    .option('--database <name>', 'database holding Vigie tables', 'vigie')
    .addHelpText('after', () => `\nSaved queries:\n${savedQueriesHelp()}\n\nExample:\n  vigie query first_deviation --param from=2026-01-12T08:00:00Z --param to=2026-01-12T12:00:00Z\n`)
    .action(async (name: string | undefined, flags: QueryFlags) => {
      if (name === undefined) {
        process.stdout.write(`Saved queries:\n${savedQueriesHelp()}\n`);
        return;
      }
      // Validate name and parameters before opening storage (chDB locks its directory).
      bindParams(loadSavedQuery(name), flags.param);
      const { storage, via } = openReaderStorage(flags, 'vigie query');
      process.stderr.write(`vigie query: reading ${via}\n`);
      try {
        const r = await runSavedQuery(storage.client, { name, params: flags.param, database: storage.database });
        process.stdout.write(formatResult(r, flags.format));
      } catch (err) {
        throw explainMissingDatabase(err, storage, storage.chdbPath);
      } finally {
        await storage.close();
      }
    });
}
