/**
 * A campus's own capacity comes first: the config's `capacity:` section (every key
 * honoured or rejected by name), else what the platform itself reported in stored
 * mornings; a faculty with neither stops the plan with a message naming it, never a
 * silent fall-back to the simulator's university.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.ts';
import { parseConfig } from '../../../core/config.ts';
import { parseCapacityConfig, resolveCapacity } from '../../../planner/index.ts';

describe('capacity: section', () => {
  it('honours every key: sessions, requests/s, servers by count or name, browsing students, the database pool', () => {
    const cfg = parseCapacityConfig({
      platform: { dbConnections: 400 },
      faculties: {
        law: { sessions: 1100, requestsPerSecond: 120, servers: ['law-a', 'law-b'], browsingSessions: 116 },
        hec: { sessions: 900, servers: 3 },
      },
    });
    const { model, notes } = resolveCapacity(['law', 'hec', 'law'], cfg, null);
    expect(model.dbPoolMax).toBe(400);
    expect(model.faculties.get('law')).toEqual({ faculty: 'law', sessionCapacity: 1100, requestCapacity: 120, servers: ['law-a', 'law-b'], backgroundSessions: 116 });
    const hec = model.faculties.get('hec')!;
    expect(hec.servers).toEqual(['hec-1', 'hec-2', 'hec-3']);
    expect(hec.backgroundSessions).toBe(0);
    // Sized as the demo's platform is: 0.05 requests/s per student at 60 % worker use.
    expect(hec.requestCapacity).toBeCloseTo((900 * 0.05) / 0.6, 9);
    expect(model.source).toBe('config');
    expect(notes.join('\n')).toMatch(/capacity from the config for hec, law/);
  });

  it('rejects unknown and bad keys by name, at any depth', () => {
    const bad = (input: unknown) => {
      try {
        parseCapacityConfig(input, 'config file campus.yml');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    const typo = bad({ faculties: { law: { sesions: 900 } } });
    expect(typo).toMatch(/^invalid capacity section of config file campus\.yml/);
    expect(typo).toMatch(/capacity\.faculties\.law: Unrecognized key.*'sesions'/);
    expect(typo).toMatch(/capacity\.faculties\.law\.sessions: Required/);
    expect(bad({ faculties: { law: { sessions: -3 } } })).toMatch(/capacity\.faculties\.law\.sessions/);
    expect(bad({ faculties: { law: { sessions: 900 } }, platfrom: {} })).toMatch(/capacity: Unrecognized key.*platfrom/);
    expect(bad({ faculties: { law: { sessions: 900 } }, platform: { dbPool: 3 } })).toMatch(/capacity\.platform: Unrecognized key.*dbPool/);
    expect(bad({ faculties: {} })).toMatch(/capacity\.faculties: name at least one faculty/);
    expect(bad({ faculties: { law: { sessions: 900, servers: ['x'] }, hec: { sessions: 900, servers: ['x'] } } })).toMatch(/server "x" is already in law's pool/);
    expect(parseCapacityConfig(undefined)).toBeNull();
    // The core config accepts the section and leaves its checking to the planner.
    expect(parseConfig({ capacity: { faculties: { law: { sessions: 900 } } } }).capacity).toEqual({ faculties: { law: { sessions: 900 } } });
  });

  it('takes the capacity the platform reported for an unconfigured faculty, and says what it does not know', () => {
    const cfg = parseCapacityConfig({ faculties: { law: { sessions: 1100 } } });
    const learned = { faculties: new Map([['hec', { sessions: 1150, atMs: Date.UTC(2026, 11, 1, 9, 14) }]]) };
    const { model, notes } = resolveCapacity(['law', 'hec'], cfg, learned);
    expect(model.faculties.get('law')!.sessionCapacity).toBe(1100);
    expect(model.faculties.get('hec')).toMatchObject({ sessionCapacity: 1150, backgroundSessions: 0, servers: ['hec'] });
    expect(notes.join('\n')).toMatch(/reported by the platform in stored mornings for hec 1150 \(2026-12-01T09:14Z\); its browsing students are not known/);
    expect(notes.join('\n')).toMatch(/database pool: not in the config/);
    expect(model.dbPoolMax).toBe(Number.POSITIVE_INFINITY);
  });

  it('stops with the faculties that have no capacity at all, never the simulated university', () => {
    const cfg = parseCapacityConfig({ faculties: { law: { sessions: 1100 } } });
    expect(() => resolveCapacity(['law', 'medicine', 'hec'], cfg, null)).toThrow(/no capacity for faculty "hec", "medicine": give it in the capacity: section/);
    expect(() => resolveCapacity(['law'], null, null)).toThrow(ConfigError);
  });
});
