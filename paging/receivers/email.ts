/**
 * SMTP mail receiver through nodemailer: plain text plus simple HTML, one mail per
 * group flush. The `Message-ID` is derived from the outbox idempotency key, so a mail
 * re-sent after a crash carries the same id (clients and list servers may drop it;
 * otherwise delivery is at least once). Transient SMTP failures (4xx replies, network)
 * are retried by the outbox; permanent ones (5xx) are not.
 */
import { createTransport } from 'nodemailer';
import { formatHtml, formatText, formatTitle, type FormatOptions } from './format.ts';
import { ReceiverError } from './http.ts';
import type { OutboxMessage, Receiver, SendContext } from './types.ts';

/** The part of a nodemailer transport the receiver uses (injectable for tests). */
export interface MailTransport {
  sendMail(mail: {
    from: string;
    to: string[];
    subject: string;
    text: string;
    html: string;
    messageId: string;
    headers: Record<string, string>;
  }): Promise<unknown>;
  close(): void;
}

/** Options of {@link createEmailReceiver}. */
export interface EmailReceiverOptions extends FormatOptions {
  readonly name: string;
  readonly smtp: {
    readonly host: string;
    readonly port: number;
    readonly secure?: boolean;
    readonly requireTLS?: boolean;
    readonly user?: string;
    readonly password?: string;
    readonly timeoutMs?: number;
  };
  readonly from: string;
  readonly to: readonly string[];
  /** Replaces nodemailer's SMTP transport (tests). */
  readonly transport?: MailTransport;
}

/** Classifies a nodemailer failure: SMTP 5xx replies are permanent, everything else may pass later. */
export function mailError(e: unknown, host: string): ReceiverError {
  const err = e as { responseCode?: number; code?: string; message?: string };
  const code = err.responseCode;
  const permanent = typeof code === 'number' && code >= 500 && code < 600;
  return new ReceiverError(
    `SMTP ${host} refused the mail: ${err.message ?? String(e)}${permanent ? ' (not retried: check the from/to addresses and the server policy)' : ''}`,
    { retriable: !permanent, ...(code !== undefined ? { status: code } : {}), cause: e },
  );
}

/** Creates a mail receiver; the SMTP transport (a small pool) belongs to this receiver. */
export function createEmailReceiver(opts: EmailReceiverOptions): Receiver {
  const timeout = opts.smtp.timeoutMs ?? 10_000;
  const transport: MailTransport =
    opts.transport ??
    (createTransport({
      host: opts.smtp.host,
      port: opts.smtp.port,
      secure: opts.smtp.secure ?? false,
      requireTLS: opts.smtp.requireTLS ?? false,
      ...(opts.smtp.user ? { auth: { user: opts.smtp.user, pass: opts.smtp.password ?? '' } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    }) as unknown as MailTransport);
  return {
    name: opts.name,
    type: 'email',
    traits: { raw: false, granularity: 'group', dedupes: false },
    async send(m: OutboxMessage, ctx: SendContext) {
      try {
        await transport.sendMail({
          from: opts.from,
          to: [...opts.to],
          subject: formatTitle(m),
          text: formatText(m, opts),
          html: formatHtml(m, opts),
          messageId: `<${ctx.idempotencyKey}@vigie>`,
          headers: { 'X-Vigie-Idempotency-Key': ctx.idempotencyKey },
        });
      } catch (e) {
        throw mailError(e, `${opts.smtp.host}:${opts.smtp.port}`);
      }
    },
    async close() {
      transport.close();
    },
  };
}
