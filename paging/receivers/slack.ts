/**
 * Slack-compatible incoming-webhook receiver (`{text, attachments}`, which Slack,
 * Mattermost and Rocket.Chat all accept): one message per group flush, the page line
 * first so it shows in phone notifications. The webhook URL is a secret: errors show
 * only its origin. Chat webhooks do not deduplicate, so delivery is at least once; the
 * `Idempotency-Key` header lets a proxy drop repeats.
 */
import { formatAlertBlock, formatText, formatTitle, type FormatOptions } from './format.ts';
import { postOnce } from './http.ts';
import type { OutboxMessage, Receiver, SendContext } from './types.ts';

/** Options of {@link createSlackReceiver}. */
export interface SlackReceiverOptions extends FormatOptions {
  readonly name: string;
  readonly url: string;
  readonly channel?: string;
  readonly username?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** The JSON body of one chat message. */
export interface SlackBody {
  readonly text: string;
  readonly channel?: string;
  readonly username?: string;
  readonly attachments: readonly { readonly color: string; readonly fallback: string; readonly title: string; readonly text: string }[];
}

/** Builds the chat message for a group. */
export function toSlackBody(m: OutboxMessage, opts: FormatOptions & { channel?: string; username?: string }): SlackBody {
  const color = m.undeliverable ? '#8e44ad' : m.status === 'firing' ? '#d63031' : '#2e8b57';
  return {
    text: formatTitle(m),
    ...(opts.channel ? { channel: opts.channel } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    attachments: [
      {
        color,
        fallback: formatText(m, opts),
        title: formatTitle(m),
        text: [
          ...(m.undeliverable ? [`Could not deliver to ${m.undeliverable.receiver}: ${m.undeliverable.reason}`] : []),
          ...m.alerts.map((a) => formatAlertBlock(a, opts).join('\n')),
        ].join('\n\n'),
      },
    ],
  };
}

/** Creates a Slack-compatible webhook receiver. */
export function createSlackReceiver(opts: SlackReceiverOptions): Receiver {
  let redacted: string;
  try {
    redacted = new URL(opts.url).origin + '/…';
  } catch {
    redacted = '(slack webhook)';
  }
  return {
    name: opts.name,
    type: 'slack',
    traits: { raw: false, granularity: 'group', dedupes: false },
    send(m: OutboxMessage, ctx: SendContext) {
      return postOnce({
        url: opts.url,
        redactedUrl: redacted,
        body: toSlackBody(m, opts),
        headers: { 'idempotency-key': ctx.idempotencyKey },
        now: ctx.now,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    },
  };
}
