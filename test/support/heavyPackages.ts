/**
 * Which heavy packages a process loaded, from the module URLs that
 * `test/support/recordImports.ts` records: the lazy-command test and the startup bench
 * check that light `vigie` commands stay light.
 */
/** Packages too heavy for a command that does not use them (chDB, Kafka, OpenTelemetry, charts, a compiler). */
export const HEAVY_PACKAGES = ['chdb', '@clickhouse/client', 'kafkajs', '@opentelemetry/sdk-metrics', '@opentelemetry/api', 'echarts', '@grafana/grafana-foundation-sdk', 'typescript', 'tsx'] as const;

/** The heavy packages among recorded module URLs (a package counts once). */
export function heavyPackagesIn(urls: readonly string[]): string[] {
  return HEAVY_PACKAGES.filter((p) => urls.some((u) => u.includes(`/node_modules/${p}/`)));
}
