import { describe, expect, it } from 'vitest';
import { compileLogFormat, parseTimeLocal } from '../../../../collectors/accessLog/logFormat.ts';

describe('access-log formats', () => {
  it('parses nginx combined + $request_time $upstream_response_time', () => {
    const f = compileLogFormat('nginx_timed');
    const r = f.parse('10.0.0.7 - alice [07/Dec/2026:09:00:01 +0100] "POST /login/index.php?x=1 HTTP/1.1" 303 512 "-" "Mozilla/5.0 (X11)" 0.231 0.229');
    expect(r).toEqual({
      method: 'POST',
      uri: '/login/index.php?x=1',
      status: 303,
      durationSeconds: 0.231,
      timeMs: Date.UTC(2026, 11, 7, 8, 0, 1),
      remoteUser: 'alice',
      cookies: {},
    });
  });

  it('falls back to the summed upstream times when $request_time is absent, reads cookies', () => {
    const f = compileLogFormat('$remote_addr [$time_local] "$request" $status $upstream_response_time "$cookie_MoodleSession"');
    const r = f.parse('1.2.3.4 [07/Dec/2026:09:00:01 +0000] "GET /mod/quiz/attempt.php?cmid=12 HTTP/2.0" 200 0.100, 0.250 "abc123"');
    expect(r?.durationSeconds).toBeCloseTo(0.35, 9);
    expect(r?.cookies).toEqual({ MoodleSession: 'abc123' });
  });

  it('reads Apache %D (microseconds)', () => {
    const f = compileLogFormat('apache_combined_D');
    const r = f.parse('1.2.3.4 - - [07/Dec/2026:09:00:01 -0500] "GET / HTTP/1.1" 200 12 "-" "curl/8" 1500000');
    expect(r?.durationSeconds).toBe(1.5);
    expect(r?.timeMs).toBe(Date.UTC(2026, 11, 7, 14, 0, 1));
  });

  it('returns null for lines that do not fit, and refuses formats without $request/$status', () => {
    const f = compileLogFormat('combined');
    expect(f.parse('garbage')).toBeNull();
    expect(f.parse('1.2.3.4 - - [07/Dec/2026:09:00:01 +0000] "GET / HTTP/1.1" 999 1 "-" "x"')).toBeNull();
    expect(() => compileLogFormat('$remote_addr $status')).toThrow(/needs \$request/);
    expect(() => compileLogFormat('plain')).toThrow(/no \$variables/);
    expect(parseTimeLocal('bad')).toBeNaN();
  });
});
