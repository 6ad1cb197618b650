/**
 * `vigie dashboards build`: writes the four Grafana dashboards (session overview,
 * faculty, exam morning, pipeline health) and the provisioning files (ClickHouse and
 * Prometheus data sources, dashboard provider) under `--out`. No secret is written: the
 * ClickHouse password is a `$__env{…}` placeholder Grafana resolves at start-up.
 */
import { Command, InvalidArgumentError } from 'commander';
import { buildDashboards } from '../../dashboards/index.ts';

/** Options of `vigie dashboards build` as commander parses them. */
interface DashboardsBuildFlags {
  readonly out: string;
  readonly database: string;
  readonly datasourceUid: string;
  readonly clickhouseHost: string;
  readonly clickhousePort?: number;
  readonly clickhouseProtocol: 'http' | 'native';
  readonly clickhouseSecure?: boolean;
  readonly clickhouseUser: string;
  readonly passwordEnv: string;
  readonly prometheusUid: string;
  readonly prometheusUrl: string;
  readonly dashboardsPath?: string;
  readonly folder: string;
}

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`--clickhouse-port expects 1..65535, got "${v}"`);
  return n;
};
const protocol = (v: string): 'http' | 'native' => {
  if (v !== 'http' && v !== 'native') throw new InvalidArgumentError(`--clickhouse-protocol expects http or native, got "${v}"`);
  return v;
};

/** Registers `vigie dashboards build`. */
export function registerDashboardsCommand(program: Command): void {
  const dashboards = program.command('dashboards').description('Generate Grafana dashboards and provisioning for Vigie.');
  dashboards
    .command('build')
    .description(
      'Write the session-overview, faculty, exam-morning and pipeline-health dashboards (JSON) and Grafana provisioning (ClickHouse + Prometheus data sources, file provider) under --out.',
    )
    .requiredOption('--out <dir>', 'output directory (dashboards/ and provisioning/ are created in it)')
    .option('--database <name>', 'ClickHouse database holding Vigie tables', 'vigie')
    .option('--datasource-uid <uid>', 'uid of the provisioned ClickHouse data source', 'vigie-clickhouse')
    .option('--clickhouse-host <host>', 'ClickHouse host as Grafana reaches it', 'localhost')
    .option('--clickhouse-port <port>', 'ClickHouse port (default 8123 http / 9000 native)', port)
    .option('--clickhouse-protocol <p>', 'http or native', protocol, 'http')
    .option('--clickhouse-secure', 'use TLS to ClickHouse')
    .option('--clickhouse-user <name>', 'ClickHouse user Grafana connects as (read-only recommended)', 'default')
    .option('--password-env <VAR>', 'environment variable Grafana reads the ClickHouse password from', 'CLICKHOUSE_PASSWORD')
    .option('--prometheus-uid <uid>', 'uid of the provisioned Prometheus data source (self-metrics)', 'vigie-prometheus')
    .option('--prometheus-url <url>', 'Prometheus URL as Grafana reaches it', 'http://localhost:9090')
    .option('--dashboards-path <dir>', 'dashboard directory as Grafana sees it (default: <out>/dashboards)')
    .option('--folder <name>', 'Grafana folder for the dashboards', 'Vigie')
    .action((flags: DashboardsBuildFlags) => {
      const { files } = buildDashboards({
        outDir: flags.out,
        database: flags.database,
        datasourceUid: flags.datasourceUid,
        host: flags.clickhouseHost,
        ...(flags.clickhousePort !== undefined ? { port: flags.clickhousePort } : {}),
        protocol: flags.clickhouseProtocol,
        secure: flags.clickhouseSecure === true,
        username: flags.clickhouseUser,
        passwordEnv: flags.passwordEnv,
        prometheusUid: flags.prometheusUid,
        prometheusUrl: flags.prometheusUrl,
        ...(flags.dashboardsPath !== undefined ? { dashboardsPath: flags.dashboardsPath } : {}),
        folder: flags.folder,
      });
      process.stdout.write(files.map((f) => `wrote ${f}\n`).join(''));
    });
}
