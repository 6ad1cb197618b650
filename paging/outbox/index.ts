/**
 * The durable outbox between the router and the receivers: an fsync'd JSONL journal
 * (written before any attempt), retries with jittered backoff and Retry-After, a max
 * age after which a notification is reported undeliverable (log, counter, fallback
 * receiver), and replay after a crash. `createPager` (paging/routing) composes it.
 */
export { createOutbox } from './outbox.ts';
export type { Outbox, OutboxItem, OutboxOptions, OutboxStats, DeliverFn } from './outbox.ts';
export { openJournal } from './journal.ts';
export type { Journal, JournalRecord, JournalState, OutboxEntry, Outcome } from './journal.ts';
