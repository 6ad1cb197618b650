/**
 * The stored plans as the CLI's entry points read them (`vigie ingest`, `vigie demo`,
 * `vigie rules backtest`): the plans in force over a window, with one line per plan
 * saying which feeds the rules and which is dropped because its timetable changed. A
 * store created before plans existed (no `plans` table: a reader does not migrate) has
 * no plan, which is not an error.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describePlans, loadCurrentPlans, type StoredPlan } from '../planner/index.ts';

/** Plans in force over [fromMs, toMs] and the lines that describe them. */
export async function loadStoredPlans(client: ClickHouseClient, database: string, fromMs: number, toMs: number, cache?: Map<string, StoredPlan>): Promise<{ plans: readonly StoredPlan[]; lines: string[] }> {
  try {
    const current = await loadCurrentPlans(client, database, fromMs, toMs, cache);
    return { plans: current.plans, lines: describePlans(current) };
  } catch (err) {
    // UNKNOWN_TABLE (60): the store predates migration 010 and holds no plan.
    if (/Unknown table|UNKNOWN_TABLE|Code: 60\b|doesn't exist|does not exist/i.test((err as Error).message) && /plans/.test((err as Error).message)) return { plans: [], lines: [] };
    throw err;
  }
}
