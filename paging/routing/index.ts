/**
 * Paging: from the rules engine's alert set to people. In: the `NotifyFn` seam
 * (`createPager(...).notify`) and the validated `paging:` config section. Out:
 * notifications at Alertmanager, PagerDuty, Slack-compatible chat, generic webhooks
 * and mail, through a durable outbox (paging/outbox) after hold-down, silences,
 * inhibition, routing and grouping (this folder). The CLI composes it.
 */
export { createPager } from './pager.ts';
export type { Pager, PagerOptions, PagerStats } from './pager.ts';
export { pagingConfigSchema, parsePagingConfig, receiverConfigSchema } from './config.ts';
export type { PagingConfig, PagingConfigInput, ReceiverConfig, InhibitRule, RouteConfig } from './config.ts';
export { createRouter, idOf } from './router.ts';
export type { Router, RouterOptions, RouterStats, Dispatch } from './router.ts';
export { resolveRoute, matchRoutes, groupLabels, ROUTE_DEFAULTS } from './route.ts';
export type { ResolvedRoute } from './route.ts';
export { inhibitedFingerprints } from './inhibit.ts';
export { parseMatcher, matchAll, matchOne, formatMatcher } from './matchers.ts';
export type { Matcher } from './matchers.ts';
export { addSilence, expireSilence, readSilences, writeSilences, silenceState, createSilenceIndex } from './silences.ts';
export type { Silence, NewSilence, SilenceIndex } from './silences.ts';
