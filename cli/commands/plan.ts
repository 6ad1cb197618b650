/**
 * `vigie plan`: the plan of a session morning (or a range of days) before it starts —
 * expected load against capacity, flagged minutes, collapse risk at each exam start,
 * staggered start times, exams on servers, capacity needed; `--what-if` changes the
 * inputs. Prints the on-call summary; `--out DIR` also writes plan.html (charts),
 * proposed-starts.csv and plan.txt; `--store` keeps the plan's expected load for the
 * rules (`planner/store.ts`). Capacity: the config's `capacity:` section, else what the
 * platform reported in stored mornings; the simulated university with `--demo` only.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { loadConfig } from '../../core/config.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';
import { migrate } from '../../schema/index.ts';
import {
  buildPlan,
  loadOrCalibrateRisk,
  configuredCapacity,
  formatPlanText,
  learnCapacity,
  parseCapacityConfig,
  planTable,
  profileLookup,
  resolveCapacity,
  writePlan,
  type CapacityModel,
  type LearnedCapacity,
  learnProfiles,
  parseWhatIf,
  readTimetable,
  writePlanFiles,
  type LearnedProfiles,
  type WhatIf,
} from '../../planner/index.ts';
import { floatOption, timeOption } from '../options.ts';

interface PlanFlags {
  readonly date?: string;
  readonly from?: number;
  readonly to?: number;
  readonly demo?: boolean;
  readonly clickhouseUrl?: string;
  readonly chdbPath?: string;
  readonly database: string;
  readonly historyDays: number;
  readonly capacity?: number;
  readonly target: number;
  readonly step: number;
  readonly earlier: number;
  readonly later: number;
  readonly band: 'mean' | 'high';
  readonly whatIf: WhatIf[];
  readonly budget?: number;
  readonly out?: string;
  readonly riskCache: string;
  readonly store?: boolean;
  /** `--config` of the program (its `capacity:` section). */
  readonly config?: string;
}

const DAY = 86_400_000;

function dateOption(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isFinite(Date.parse(`${v}T00:00:00Z`))) throw new InvalidArgumentError(`--date expects YYYY-MM-DD, got "${v}"`);
  return v;
}

/** Registers `vigie plan`. */
export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('Plan a session morning before it starts: expected load vs capacity, risk at each exam start, staggered starts, exams on servers, capacity needed.')
    .option('--date <YYYY-MM-DD>', 'the day to plan (default: today, UTC)', dateOption)
    .option('--from <time>', 'plan exams starting from this time (ISO or epoch ms; with --to, instead of --date)', timeOption('--from'))
    .option('--to <time>', 'plan exams starting before this time', timeOption('--to'))
    .option('--demo', "plan the demo's timetable (the simulator's morning) instead of the stored one")
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL holding the timetable and past mornings (default: embedded chDB)')
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb)')
    .option('--database <name>', 'database holding Vigie tables', 'vigie')
    .option('--history-days <n>', 'learn load profiles from the mornings stored in the n days before the plan (0 = defaults only)', floatOption('--history-days'), 60)
    .option('--capacity <factor>', "with --demo: capacity factor of the simulated university (as `vigie demo --capacity`; default 1). A campus gives its own in the config's capacity: section", floatOption('--capacity'))
    .option('--target <share>', 'share of capacity not to pass (flags and remedies)', floatOption('--target'), 0.95)
    .option('--step <minutes>', 'shift step of staggered start times', floatOption('--step'), 5)
    .option('--earlier <minutes>', 'how much earlier an exam without its own window may start', floatOption('--earlier'), 30)
    .option('--later <minutes>', 'how much later an exam without its own window may start', floatOption('--later'), 90)
    .addOption(new Option('--band <band>', 'plan on the mean load or one standard deviation above it').choices(['mean', 'high']).default('mean'))
    .option('--what-if <change>', 'change the inputs: "capacity=+2 servers", "capacity=+1 servers@law", "capacity=x1.5", "shift=EXAM-ID:+15m" (repeatable)', (v: string, acc: WhatIf[]) => [...acc, parseWhatIfOption(v)], [] as WhatIf[])
    .option('--budget <n>', 'exact-search budget of each solver (evaluations)', floatOption('--budget'))
    .option('--out <dir>', 'also write plan.html, proposed-starts.csv and plan.txt into this directory')
    .option('--store', 'store the plan (its expected load per minute) so `vigie ingest`, `vigie demo` and `vigie rules backtest` feed it to the rules while the timetable stays as planned')
    .option('--risk-cache <file>', 'where the simulator calibration of collapse risk is kept (recomputed when the simulator changes)', '.vigie/planner-risk.json')
    .action(async (flags: PlanFlags) => {
      const out = await runPlan({ ...flags, ...(program.opts()['config'] ? { config: program.opts()['config'] as string } : {}) });
      process.stdout.write(out.text);
      for (const f of out.files) process.stdout.write(`wrote ${f}\n`);
    });
}

function parseWhatIfOption(v: string): WhatIf {
  try {
    return parseWhatIf(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Runs the plan command; returns the text and the files written. */
export async function runPlan(flags: PlanFlags): Promise<{ text: string; files: string[] }> {
  let fromMs: number;
  let toMs: number;
  if (flags.from !== undefined || flags.to !== undefined) {
    if (flags.date) throw new ConfigError('give either --date or --from/--to, not both');
    if (flags.from === undefined || flags.to === undefined) throw new ConfigError('--from and --to go together');
    if (!(flags.to > flags.from)) throw new ConfigError(`--to (${new Date(flags.to).toISOString()}) must be after --from (${new Date(flags.from).toISOString()})`);
    fromMs = flags.from;
    toMs = flags.to;
  } else {
    fromMs = flags.date ? Date.parse(`${flags.date}T00:00:00Z`) : Math.floor(Date.now() / DAY) * DAY;
    toMs = fromMs + DAY;
  }
  if (!(flags.historyDays >= 0)) throw new ConfigError(`--history-days must be ≥ 0, got ${flags.historyDays}`);
  // Bad config stops the plan before it reads anything; every key is honoured or rejected.
  const config = loadConfig(flags.config);
  const capacityConfig = parseCapacityConfig(config.capacity, flags.config ? `config file ${flags.config}` : 'configuration');
  if (flags.capacity !== undefined && !(flags.demo && !capacityConfig)) {
    throw new ConfigError(
      capacityConfig
        ? '--capacity scales the simulated university of --demo; the capacity: section of the config gives this platform its own (change it there, or use --what-if capacity=x1.5)'
        : "--capacity scales the simulated university and goes with --demo only; give your platform's capacity in the capacity: section of --config",
    );
  }
  if (flags.store && flags.whatIf.length) throw new ConfigError('--store keeps the plan the rules read: a --what-if is hypothetical (import the changed timetable, or change the capacity: section, then store)');
  const wantsStorage = !flags.demo || flags.historyDays > 0 || !!flags.store;
  let storage: Storage | null = null;
  const log: string[] = [];
  try {
    if (wantsStorage && (!flags.demo || flags.clickhouseUrl || flags.chdbPath || flags.store)) {
      storage = createStorage({ ...(flags.clickhouseUrl ? { url: flags.clickhouseUrl } : {}), ...(flags.chdbPath ? { chdbPath: flags.chdbPath } : {}), database: flags.database });
      if (flags.store) await migrate(storage.client, { database: storage.database });
    }
    const exams = await readTimetable(flags.demo || !storage ? { kind: 'demo' } : { kind: 'stored', client: storage.client, database: storage.database }, fromMs, toMs);
    if (exams.length === 0) throw new ConfigError(`no exam starts between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}${flags.demo ? '' : ` in ${flags.database}.exam_schedule (import a timetable, or use --demo)`}`);
    let profiles: LearnedProfiles | null = null;
    if (storage && flags.historyDays > 0) {
      try {
        profiles = await learnProfiles(storage.client, storage.database, fromMs - flags.historyDays * DAY, fromMs);
      } catch (err) {
        log.push(`history unavailable (${(err as Error).message.split('\n')[0]}); using the default load profiles`);
      }
    }
    if (!profiles) log.push(`no usable past morning in the ${flags.historyDays} days before ${new Date(fromMs).toISOString().slice(0, 10)}: load profiles are the documented defaults`);
    else log.push(`load profiles learned from ${profiles.examsUsed} exams of past mornings`);
    // The campus's own capacity first (config, else what its platform reported in stored
    // mornings); the simulated university only for the demo's timetable without a config.
    let capacity: CapacityModel;
    if (flags.demo && !capacityConfig) {
      capacity = configuredCapacity(flags.capacity ?? 1);
      log.push(`capacity: the demo's simulated university${flags.capacity !== undefined ? ` ×${flags.capacity}` : ''}`);
    } else {
      let learned: LearnedCapacity | null = null;
      const unconfigured = exams.some((e) => !capacityConfig?.faculties[e.faculty]);
      if (storage && unconfigured) {
        try {
          learned = await learnCapacity(storage.client, storage.database, fromMs - Math.max(flags.historyDays, 30) * DAY, fromMs);
        } catch (err) {
          log.push(`capacity history unavailable (${(err as Error).message.split('\n')[0]})`);
        }
      }
      const resolved = resolveCapacity(exams.map((e) => e.faculty), capacityConfig, learned);
      capacity = resolved.model;
      log.push(...resolved.notes);
    }
    const risk = loadOrCalibrateRisk(flags.riskCache);
    log.push(risk.cached ? `collapse risk: simulator calibration read from ${flags.riskCache}` : `collapse risk: simulator calibrated now, kept in ${flags.riskCache}`);
    const plan = buildPlan({
      exams,
      capacity,
      profiles,
      risk,
      target: flags.target,
      stepMinutes: flags.step,
      earlierMinutes: flags.earlier,
      laterMinutes: flags.later,
      band: flags.band,
      whatIfs: flags.whatIf,
      ...(flags.budget !== undefined ? { budget: flags.budget } : {}),
    });
    if (flags.store && storage) {
      const profileFor = profileLookup(profiles);
      const table = planTable({ exams: plan.exams, capacity: plan.capacity, profileFor }, fromMs, toMs - 1);
      const id = await writePlan(storage.client, storage.database, {
        fromMs,
        toMs,
        exams,
        table,
        capacitySource: capacity.source === 'simulator' ? `simulator ×${flags.capacity ?? 1}` : capacity.source,
        profileSource: profiles ? `history (${profiles.examsUsed} exams)` : 'defaults',
        createdMs: Date.now(),
      });
      log.push(
        `stored plan ${id} in ${storage.database}.plans (${table.series.length} series × ${table.minutes} min): vigie ingest, vigie demo and vigie rules backtest feed it to the rules while the timetable of ${new Date(fromMs).toISOString().slice(0, 10)} stays as planned`,
      );
    }
    const text = `${log.map((l) => `note: ${l}`).join('\n')}\n${formatPlanText(plan)}`;
    const files = flags.out ? writePlanFiles(plan, flags.out) : [];
    return { text, files };
  } finally {
    await storage?.close();
  }
}
