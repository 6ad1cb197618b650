/**
 * Access-log line parsing from an nginx `log_format` string (Apache presets map onto
 * the same variables). The format is compiled once into a regular expression whose
 * groups are the variables, so any site's format is configurable, not only "combined".
 */
import { ConfigError } from '../../core/errors.ts';

/** Named presets. `nginx_timed` is combined plus `$request_time $upstream_response_time`. */
export const LOG_FORMATS: Readonly<Record<string, string>> = {
  combined: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
  nginx_timed:
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time',
  nginx_timed_cookie:
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time "$cookie_MoodleSession"',
  // Apache: LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D" — %D is microseconds.
  apache_combined_D: '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time_us',
};

/** One parsed request. */
export interface AccessLogRecord {
  readonly method: string;
  /** Path and query as requested. */
  readonly uri: string;
  readonly status: number;
  /** Seconds, or NaN when the format has no timing. */
  readonly durationSeconds: number;
  /** Epoch ms from `$time_local`/`$time_iso8601`/`$msec`, or NaN. */
  readonly timeMs: number;
  readonly remoteUser: string;
  /** Cookie values by name (`$cookie_NAME` variables). */
  readonly cookies: Readonly<Record<string, string>>;
}

/** A compiled format. */
export interface LogFormat {
  readonly source: string;
  readonly variables: readonly string[];
  /** Parses one line (without newline); `null` when it does not match the format. */
  parse(line: string): AccessLogRecord | null;
}

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** Parses nginx/Apache `$time_local` (`07/Dec/2026:09:00:01 +0100`). */
export function parseTimeLocal(s: string): number {
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return NaN;
  const mon = MONTHS[m[2]!];
  if (mon === undefined) return NaN;
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const utc = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) + frac;
  const off = (Number(m[9]) * 60 + Number(m[10])) * 60_000;
  return m[8] === '+' ? utc - off : utc + off;
}

/** Compiles a format: a preset name or an nginx `log_format` string. */
export function compileLogFormat(formatOrPreset: string): LogFormat {
  const source = LOG_FORMATS[formatOrPreset] ?? formatOrPreset;
  const variables: string[] = [];
  let re = '^';
  const varRe = /\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  let last = 0;
  for (let m = varRe.exec(source); m !== null; m = varRe.exec(source)) {
    re += escapeRe(source.slice(last, m.index));
    variables.push(m[1] ?? m[2]!);
    re += '(.*?)';
    last = m.index + m[0].length;
  }
  re += escapeRe(source.slice(last)) + '$';
  if (variables.length === 0) throw new ConfigError(`access-log format "${formatOrPreset}" has no $variables; use a preset (${Object.keys(LOG_FORMATS).join(', ')}) or an nginx log_format string`);
  if (!variables.includes('request') && !(variables.includes('request_method') && (variables.includes('request_uri') || variables.includes('uri')))) {
    throw new ConfigError(`access-log format "${formatOrPreset}" needs $request (or $request_method and $request_uri)`);
  }
  if (!variables.includes('status')) throw new ConfigError(`access-log format "${formatOrPreset}" needs $status`);
  const regex = new RegExp(re);
  const idx = (name: string) => variables.indexOf(name) + 1;
  const iRequest = idx('request');
  const iMethod = idx('request_method');
  const iUri = idx('request_uri') || idx('uri');
  const iStatus = idx('status');
  const iRt = idx('request_time');
  const iRtUs = idx('request_time_us');
  const iUp = idx('upstream_response_time');
  const iTime = idx('time_local');
  const iIso = idx('time_iso8601');
  const iMsec = idx('msec');
  const iUser = idx('remote_user');
  const cookieIdx = variables.map((v, i) => [v, i + 1] as const).filter(([v]) => v.startsWith('cookie_'));

  return {
    source,
    variables,
    parse(line: string): AccessLogRecord | null {
      const m = regex.exec(line);
      if (!m) return null;
      let method: string;
      let uri: string;
      if (iRequest > 0) {
        const req = m[iRequest]!;
        const sp1 = req.indexOf(' ');
        if (sp1 <= 0) return null;
        const sp2 = req.lastIndexOf(' ');
        method = req.slice(0, sp1);
        uri = sp2 > sp1 ? req.slice(sp1 + 1, sp2) : req.slice(sp1 + 1);
      } else {
        method = m[iMethod]!;
        uri = m[iUri]!;
      }
      const status = Number(m[iStatus]);
      if (!Number.isInteger(status) || status < 100 || status > 599) return null;
      let durationSeconds = NaN;
      if (iRt > 0) durationSeconds = Number(m[iRt]);
      else if (iRtUs > 0) durationSeconds = Number(m[iRtUs]) / 1e6;
      if (!Number.isFinite(durationSeconds) && iUp > 0) {
        // `$upstream_response_time` may list several upstreams ("0.010, 0.200"): sum them.
        durationSeconds = m[iUp]!.split(/[,:]\s*/).reduce((a, x) => a + Number(x), 0);
      }
      const timeMs = iTime > 0 ? parseTimeLocal(m[iTime]!) : iIso > 0 ? Date.parse(m[iIso]!) : iMsec > 0 ? Number(m[iMsec]) * 1000 : NaN;
      const cookies: Record<string, string> = {};
      for (const [v, i] of cookieIdx) {
        const c = m[i]!;
        if (c !== '' && c !== '-') cookies[v.slice('cookie_'.length)] = c;
      }
      const user = iUser > 0 ? m[iUser]! : '-';
      return { method, uri, status, durationSeconds: Number.isFinite(durationSeconds) ? durationSeconds : NaN, timeMs, remoteUser: user, cookies };
    },
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
