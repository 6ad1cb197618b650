/**
 * Grafana provisioning files for Vigie: the ClickHouse and Prometheus data sources and the file provider
 * that loads the generated dashboards. The ClickHouse data source speaks HTTP to port 8123
 * on localhost by default: a ClickHouse server, or the read-only endpoint that
 * `vigie ingest` / `vigie demo` serve over their embedded database. No secret is ever written: the password is a
 * `$__env{…}` placeholder that Grafana resolves from its own environment at start-up.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { CLICKHOUSE_PLUGIN_TYPE } from './clickhouseQuery.ts';

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Default dashboard directory in the provider file: an environment variable Grafana
 * expands when it reads its provisioning (`VIGIE_DASHBOARDS_DIR=$PWD/out/demo/grafana/dashboards`),
 * so generated files carry no absolute path of the machine that built them.
 */
export const DEFAULT_DASHBOARDS_PATH = '$VIGIE_DASHBOARDS_DIR';

/** Connection settings of the provisioned data source, validated by {@link parseProvisioningOptions}. */
export const provisioningOptionsSchema = z
  .object({
    datasourceUid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, - and _, at most 40'),
    datasourceName: z.string().min(1).default('Vigie ClickHouse'),
    database: z.string().regex(identifier, 'a ClickHouse identifier (letters, digits, _)'),
    host: z.string().min(1).default('localhost'),
    /** 9000 native / 8123 http by default, after the protocol. */
    port: z.number().int().min(1).max(65535).optional(),
    protocol: z.enum(['native', 'http']).default('http'),
    secure: z.boolean().default(false),
    username: z.string().min(1).default('default'),
    /** Environment variable Grafana reads the password from. */
    passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').default('CLICKHOUSE_PASSWORD'),
    /** Directory Grafana loads dashboard JSON from (as Grafana sees it). */
    dashboardsPath: z.string().min(1),
    folder: z.string().default('Vigie'),
    /** Uid of the provisioned Prometheus data source (Vigie's self-metrics). */
    prometheusUid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, - and _, at most 40').default('vigie-prometheus'),
    prometheusName: z.string().min(1).default('Vigie Prometheus'),
    /** URL Grafana reaches Prometheus at (the one scraping Vigie's self-metrics). */
    prometheusUrl: z.string().url('an http(s) URL').default('http://localhost:9090'),
  })
  .strict();

/** Input accepted by {@link parseProvisioningOptions}. */
export type ProvisioningOptionsInput = z.input<typeof provisioningOptionsSchema>;
/** Validated provisioning options. */
export type ProvisioningOptions = Readonly<z.output<typeof provisioningOptionsSchema>>;

/** Validates options; errors name the key and what it accepts. */
export function parseProvisioningOptions(input: ProvisioningOptionsInput): ProvisioningOptions {
  const r = provisioningOptionsSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid dashboard provisioning options: ${msg}`);
  }
  return r.data;
}

/** `provisioning/datasources/vigie.yaml`. */
export function datasourceYaml(o: ProvisioningOptions): string {
  const port = o.port ?? (o.protocol === 'native' ? (o.secure ? 9440 : 9000) : o.secure ? 8443 : 8123);
  return stringify({
    apiVersion: 1,
    datasources: [
      {
        name: o.datasourceName,
        uid: o.datasourceUid,
        type: CLICKHOUSE_PLUGIN_TYPE,
        editable: false,
        jsonData: {
          host: o.host,
          port,
          protocol: o.protocol,
          secure: o.secure,
          username: o.username,
          defaultDatabase: o.database,
        },
        secureJsonData: {
          password: `$__env{${o.passwordEnv}}`,
        },
      },
      {
        name: o.prometheusName,
        uid: o.prometheusUid,
        type: 'prometheus',
        access: 'proxy',
        url: o.prometheusUrl,
        editable: false,
        jsonData: { httpMethod: 'POST', timeInterval: '15s' },
      },
    ],
  });
}

/** `provisioning/dashboards/vigie.yaml`: a file provider for the generated JSON. */
export function dashboardProviderYaml(o: ProvisioningOptions): string {
  return stringify({
    apiVersion: 1,
    providers: [
      {
        name: 'vigie',
        orgId: 1,
        folder: o.folder,
        type: 'file',
        disableDeletion: false,
        // Generated files are the source of truth; edits in the UI would be overwritten.
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: o.dashboardsPath, foldersFromFilesStructure: false },
      },
    ],
  });
}
