/**
 * Stage: paging — what happens to an alert once the rules fire it. In: the full
 * firing/resolved set after each evaluation (`NotifyFn`, from `rules/`). Out:
 * notifications to receivers (Alertmanager API v2, PagerDuty Events v2, Slack-compatible
 * and generic webhooks, SMTP mail) through routing, grouping, inhibition, silences and a
 * durable fsync'd outbox (`outbox/`), configured by the `paging:` section
 * (`receivers/README.md`).
 */
export { createPager, parsePagingConfig } from './routing/index.ts';
export type { Pager, PagerStats, PagingConfigInput } from './routing/index.ts';
export type { Notification, NotifyFn } from './receivers/types.ts';
