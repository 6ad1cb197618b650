/**
 * The status publisher: consumes alert transitions (the rules stage calls
 * `onTransitions`), keeps one notice per affected scope in the state file, and posts
 * every change to the university's webhooks (CMS, intranet). A page that fires
 * publishes its notice at once (well within a minute of the transition); a resolve of
 * the last alert behind a notice clears it. Operators hold, edit, publish or clear a
 * notice through the same functions (the CLI calls them), and a held notice is never
 * published by a later transition. `refresh()` re-issues a notice when its promised
 * "next update" time comes, so the promise on the page is always in the future.
 */
import type { AlertTransition } from '../rules/engine.ts';
import { UnavailableError, describeError } from '../core/errors.ts';
import { retry } from '../core/retry.ts';
import { clearedText, isStudentFacing, noticeText, publicView, scopeOf, type NoticeText, type PublicNotice, type StatusNotice } from './notice.ts';
import { readStatusState, writeStatusState, type StatusState } from './store.ts';

/** Options of {@link createStatusPublisher}. */
export interface StatusPublisherOptions {
  /** State file shared with the page server and the CLI. */
  readonly statePath: string;
  /** Webhooks receiving every change (JSON POST). */
  readonly webhookUrls?: readonly string[];
  /** Promised next update, minutes after each change. Default 15. */
  readonly nextUpdateMinutes?: number;
  /** Time zone of the times in the text. Default Europe/Brussels. */
  readonly timeZone?: string;
  readonly clock?: () => number;
  readonly fetch?: typeof fetch;
  /** Webhook retries (jittered backoff). Default 4. */
  readonly retries?: number;
  readonly log?: (line: string) => void;
}

/** What a webhook receives. */
export interface StatusWebhookPayload {
  readonly version: 1;
  readonly event: 'published' | 'updated' | 'cleared' | 'held';
  readonly notice: PublicNotice;
  /** Every notice visible now (published ones). */
  readonly active: readonly PublicNotice[];
}

/** The publisher. */
export interface StatusPublisher {
  /** Feed alert transitions (any; only student-facing pages are used). Resolves once webhooks are sent. */
  onTransitions(ts: readonly AlertTransition[]): Promise<void>;
  hold(id: string): Promise<StatusNotice>;
  publish(id: string): Promise<StatusNotice>;
  edit(id: string, text: { fr?: Partial<NoticeText>; en?: Partial<NoticeText> }): Promise<StatusNotice>;
  clear(id: string): Promise<StatusNotice>;
  /**
   * Keeps the notices' promise: a published notice whose "next update" time has come is
   * re-issued with a new one (generated text; an operator-edited text is left to the
   * operator). Call it on every evaluation; it does nothing most of the time.
   */
  refresh(): Promise<number>;
  /** `hold` mode: new notices wait for an operator. */
  setMode(mode: 'auto' | 'hold'): void;
  state(): StatusState;
  /** Webhook deliveries that failed after every retry. */
  failures(): number;
}

/** Creates a publisher over the state file. */
export function createStatusPublisher(opts: StatusPublisherOptions): StatusPublisher {
  const clock = opts.clock ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const nextMs = (opts.nextUpdateMinutes ?? 15) * 60_000;
  const tz = opts.timeZone ?? 'Europe/Brussels';
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  let failures = 0;

  const post = async (event: StatusWebhookPayload['event'], n: StatusNotice, s: StatusState): Promise<void> => {
    const payload: StatusWebhookPayload = { version: 1, event, notice: publicView(n), active: s.notices.filter((x) => x.state === 'published').map(publicView) };
    await Promise.all(
      (opts.webhookUrls ?? []).map(async (url) => {
        try {
          await retry(
            async () => {
              const res = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
              if (!res.ok) throw new UnavailableError(`status webhook ${url} answered ${res.status}`, { retriable: res.status >= 500 || res.status === 429 });
            },
            { retries: opts.retries ?? 4, initialMs: 200, maxMs: 5_000, isRetriable: (e) => !(e instanceof UnavailableError) || e.retriable },
          );
        } catch (err) {
          failures++;
          log(`vigie status: webhook ${url} failed for notice ${n.id}: ${describeError(err)}`);
        }
      }),
    );
  };

  /** Applies `change` to the notice as stored now; a change returning null leaves it (and posts nothing). */
  const update = async (id: string, change: (n: StatusNotice) => StatusNotice | null, event: StatusWebhookPayload['event']): Promise<StatusNotice> => {
    const s = readStatusState(opts.statePath);
    const cur = s.notices.find((n) => n.id === id);
    if (!cur) throw new RangeError(`status: no notice "${id}" (known: ${s.notices.map((n) => n.id).join(', ') || 'none'})`);
    const next = change(cur);
    if (next === null) return cur;
    const ns: StatusState = { ...s, notices: s.notices.map((n) => (n.id === id ? next : n)) };
    writeStatusState(opts.statePath, ns);
    await post(event, next, ns);
    return next;
  };

  return {
    async onTransitions(ts) {
      const relevant = ts.filter(isStudentFacing);
      if (relevant.length === 0) return;
      const s = readStatusState(opts.statePath);
      const notices = new Map(s.notices.map((n) => [n.id, n]));
      const events: [StatusWebhookPayload['event'], string][] = [];
      const now = clock();
      for (const t of relevant) {
        const { id, faculty } = scopeOf(t);
        const cur = notices.get(id);
        if (t.state === 'firing') {
          if (cur && cur.state !== 'cleared') {
            if (!cur.alerts.includes(t.fingerprint)) notices.set(id, { ...cur, alerts: [...cur.alerts, t.fingerprint] });
            continue;
          }
          const state = s.mode === 'hold' ? 'held' : 'published';
          notices.set(id, { id, faculty, state, ...noticeText(faculty, now + nextMs, tz), edited: false, startedAt: now, updatedAt: now, nextUpdateAt: now + nextMs, clearedAt: null, alerts: [t.fingerprint] });
          events.push([state === 'held' ? 'held' : 'published', id]);
        } else if (cur && cur.state !== 'cleared') {
          const alerts = cur.alerts.filter((f) => f !== t.fingerprint);
          if (alerts.length > 0) notices.set(id, { ...cur, alerts });
          else {
            notices.set(id, { ...cur, ...clearedText(cur.faculty), state: 'cleared', alerts, updatedAt: now, clearedAt: now });
            events.push(['cleared', id]);
          }
        }
      }
      const ns: StatusState = { ...s, notices: [...notices.values()] };
      writeStatusState(opts.statePath, ns);
      for (const [event, id] of events) await post(event, notices.get(id)!, ns);
    },
    async refresh() {
      const now = clock();
      const s = readStatusState(opts.statePath);
      const isDue = (n: StatusNotice) => n.state === 'published' && !n.edited && n.nextUpdateAt <= now;
      const due = s.notices.filter(isDue);
      let updated = 0;
      // Checked again on the stored notice: a resolve may clear it (or an operator hold or
      // edit it) while the webhook post of an earlier one is in flight.
      for (const n of due) {
        await update(n.id, (x) => (isDue(x) ? (updated++, { ...x, ...noticeText(x.faculty, now + nextMs, tz), updatedAt: now, nextUpdateAt: now + nextMs }) : null), 'updated');
      }
      return updated;
    },
    hold: (id) => update(id, (n) => ({ ...n, state: 'held', updatedAt: clock() }), 'held'),
    publish: (id) =>
      update(
        id,
        (n) => {
          const now = clock();
          // A re-published generated notice promises a fresh next update; edited text stays as the operator wrote it.
          const text = n.edited ? { fr: n.fr, en: n.en } : noticeText(n.faculty, now + nextMs, tz);
          return { ...n, ...text, state: 'published', updatedAt: now, nextUpdateAt: now + nextMs };
        },
        'published',
      ),
    edit: (id, text) =>
      update(
        id,
        (n) => ({ ...n, fr: { ...n.fr, ...text.fr }, en: { ...n.en, ...text.en }, edited: true, updatedAt: clock() }),
        'updated',
      ),
    clear: (id) => update(id, (n) => ({ ...n, ...clearedText(n.faculty), state: 'cleared', updatedAt: clock(), clearedAt: clock() }), 'cleared'),
    setMode(mode) {
      writeStatusState(opts.statePath, { ...readStatusState(opts.statePath), mode });
    },
    state: () => readStatusState(opts.statePath),
    failures: () => failures,
  };
}
