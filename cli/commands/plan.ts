/**
 * `vigie plan`: the plan of a session morning (or a range of days) before it starts —
 * expected load against capacity, flagged minutes, collapse risk at each exam start,
 * staggered start times, exams on servers, capacity needed; `--what-if` changes the
 * inputs. Prints the on-call summary; `--out DIR` also writes plan.html (charts),
 * proposed-starts.csv and plan.txt.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';
import {
  buildPlan,
  loadOrCalibrateRisk,
  configuredCapacity,
  formatPlanText,
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
  readonly capacity: number;
  readonly target: number;
  readonly step: number;
  readonly earlier: number;
  readonly later: number;
  readonly band: 'mean' | 'high';
  readonly whatIf: WhatIf[];
  readonly budget?: number;
  readonly out?: string;
  readonly riskCache: string;
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
    .option('--capacity <factor>', "configured capacity factor of the platform (as `vigie demo --capacity`)", floatOption('--capacity'), 1)
    .option('--target <share>', 'share of capacity not to pass (flags and remedies)', floatOption('--target'), 0.95)
    .option('--step <minutes>', 'shift step of staggered start times', floatOption('--step'), 5)
    .option('--earlier <minutes>', 'how much earlier an exam without its own window may start', floatOption('--earlier'), 30)
    .option('--later <minutes>', 'how much later an exam without its own window may start', floatOption('--later'), 90)
    .addOption(new Option('--band <band>', 'plan on the mean load or one standard deviation above it').choices(['mean', 'high']).default('mean'))
    .option('--what-if <change>', 'change the inputs: "capacity=+2 servers", "capacity=+1 servers@law", "capacity=x1.5", "shift=EXAM-ID:+15m" (repeatable)', (v: string, acc: WhatIf[]) => [...acc, parseWhatIfOption(v)], [] as WhatIf[])
    .option('--budget <n>', 'exact-search budget of each solver (evaluations)', floatOption('--budget'))
    .option('--out <dir>', 'also write plan.html, proposed-starts.csv and plan.txt into this directory')
    .option('--risk-cache <file>', 'where the simulator calibration of collapse risk is kept (recomputed when the simulator changes)', '.vigie/planner-risk.json')
    .action(async (flags: PlanFlags) => {
      const out = await runPlan(flags);
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
  const wantsStorage = !flags.demo || flags.historyDays > 0;
  let storage: Storage | null = null;
  const log: string[] = [];
  try {
    if (wantsStorage && (!flags.demo || flags.clickhouseUrl || flags.chdbPath)) {
      storage = createStorage({ ...(flags.clickhouseUrl ? { url: flags.clickhouseUrl } : {}), ...(flags.chdbPath ? { chdbPath: flags.chdbPath } : {}), database: flags.database });
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
    const risk = loadOrCalibrateRisk(flags.riskCache);
    log.push(risk.cached ? `collapse risk: simulator calibration read from ${flags.riskCache}` : `collapse risk: simulator calibrated now, kept in ${flags.riskCache}`);
    const plan = buildPlan({
      exams,
      capacity: configuredCapacity(flags.capacity),
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
    const text = `${log.map((l) => `note: ${l}`).join('\n')}\n${formatPlanText(plan)}`;
    const files = flags.out ? writePlanFiles(plan, flags.out) : [];
    return { text, files };
  } finally {
    await storage?.close();
  }
}
