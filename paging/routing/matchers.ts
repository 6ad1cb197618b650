/**
 * Label matchers as Alertmanager writes them (`faculty=law`, `severity!=info`,
 * `faculty=~"med|law"`, `exam!~"test-.*"`), shared by routes, inhibition rules and
 * silences. Regexes are anchored, as in Prometheus.
 */
import type { Labels } from '../../core/samples.ts';

/** One matcher; `re` is the anchored regex for `=~` / `!~`. */
export interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  readonly re?: RegExp;
}

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses `name<op>value` (value optionally double-quoted); throws a message naming the accepted forms. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_RE.exec(text);
  if (!m) throw new Error(`invalid matcher "${text}": expected name=value, name!=value, name=~regex or name!~regex`);
  const name = m[1]!;
  const op = m[2] as Matcher['op'];
  let value = m[3]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      value = JSON.parse(value) as string;
    } catch {
      throw new Error(`invalid matcher "${text}": the quoted value is not a valid string`);
    }
  }
  if (op === '=~' || op === '!~') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`);
    } catch (e) {
      throw new Error(`invalid matcher "${text}": bad regular expression: ${(e as Error).message}`);
    }
    return { name, op, value, re };
  }
  return { name, op, value };
}

/** True if `labels` satisfy one matcher (an absent label reads as the empty string). */
export function matchOne(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.test(v);
    case '!~':
      return !m.re!.test(v);
  }
}

/** True if `labels` satisfy every matcher (an empty list matches everything). */
export function matchAll(ms: readonly Matcher[], labels: Labels): boolean {
  for (const m of ms) if (!matchOne(m, labels)) return false;
  return true;
}

/** Renders a matcher back to text (`faculty=~"med|law"`). */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
