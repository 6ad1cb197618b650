/**
 * Secrets out of everything Vigie writes: URL credentials (`user:pass@`) and token-like
 * query parameters are replaced by `***` before a URL or a message reaches a log line, an
 * error, the outbox journal or a dead letter. One place, so every writer redacts the same.
 */

/** Query parameters whose value is a secret (matched case-insensitively). */
const SECRET_PARAMS = /^(?:token|access_token|api_key|apikey|key|secret|password|passwd|pass|auth|sig|signature|routing_key|integration_key)$/i;

/** `scheme://user:password@host` (password part) anywhere in a text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@]*):([^\s/@]*)@/gi;
/** `?token=…` / `&key=…` anywhere in a text. */
const QUERY_SECRET = /([?&])([A-Za-z_]+)=([^&\s#"']*)/g;

/** A URL as it may be shown: `https://user:***@host/p?token=***`. Unparseable input is redacted as text. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactText(url);
  }
  if (u.password) u.password = '***';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(k)) u.searchParams.set(k, '***');
  return u.toString().replace(/%2A%2A%2A/g, '***');
}

/** A message with every embedded URL credential and token parameter replaced by `***`. */
export function redactText(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(QUERY_SECRET, (m, sep: string, k: string) => (SECRET_PARAMS.test(k) ? `${sep}${k}=***` : m));
}

/**
 * A URL split into what may travel in the request line and the Basic credentials it
 * carried (fetch refuses URLs with credentials, so they go in an Authorization header).
 */
export function splitUrlCredentials(url: string): { url: string; authorization?: string } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64') };
}
