/**
 * The live timetable source against a real file (replaced the way editors save) and a
 * real HTTP server that serves ETags and wants a bearer token; accepted versions land in
 * `exam_schedule` on chDB, a bad version is logged and kept out.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../schema/migrate.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';
import { createScheduleSource, readSchedule, TimetableError, type ScheduledExam } from '../../schedule/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-schedule-source-'));
let storage: Storage;
const DB = 'sched_src';
beforeAll(async () => {
  storage = createStorage({ chdbPath: join(dir, 'chdb') });
  await migrate(storage.client, { database: DB });
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'exam_id;faculty;start;duration;enrolled';
const row = (id: string, faculty: string, hhmm: string, enrolled: number) => `${id};${faculty};2026-12-07T${hhmm}:00Z;60;${enrolled}`;
const csv = (...rows: string[]) => [HEADER, ...rows].join('\n') + '\n';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Replaces `path` as editors do: write a temp file, rename over the old one. */
function save(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('schedule source: file', () => {
  it('loads, sees a replaced file, stores each version, keeps a bad version out', async () => {
    const file = join(dir, 'timetable.csv');
    save(file, csv(row('law-1', 'law', '09:00', 900), row('hec-1', 'hec', '09:00', 650)));
    const logs: string[] = [];
    const versions: (readonly ScheduledExam[])[] = [];
    // A long poll: the change must be seen by the directory watcher.
    const source = createScheduleSource({ file, pollMs: 60_000 }, { store: { client: storage.client, database: DB }, log: (l) => logs.push(l) });
    source.onChange((exams) => versions.push(exams));
    try {
      const first = await source.start();
      expect(first.exams.map((e) => e.id)).toEqual(['law-1', 'hec-1']);
      expect((await readSchedule(storage.client, DB, { fromMs: Date.UTC(2026, 11, 7), toMs: Date.UTC(2026, 11, 8) })).map((e) => e.id)).toEqual(['hec-1', 'law-1']);

      // hec-1 is dropped, law-1 moves to 10:00, med-1 appears.
      save(file, csv(row('law-1', 'law', '10:00', 900), row('med-1', 'medicine', '09:30', 1100)));
      await until('the new version', () => versions.length === 1);
      expect(source.current().map((e) => `${e.id}@${new Date(e.start).toISOString().slice(11, 16)}`)).toEqual(['law-1@10:00', 'med-1@09:30']);
      expect((await readSchedule(storage.client, DB, { fromMs: Date.UTC(2026, 11, 7), toMs: Date.UTC(2026, 11, 8) })).map((e) => e.id)).toEqual(['med-1', 'law-1']);

      save(file, csv(row('law-1', 'law', '10:00', 900), 'med-1;medicine;2026-12-07T09:30:00Z;60;lots'));
      await until('the rejection', () => source.status().rejected === 1);
      expect(logs.join('\n')).toContain(`vigie schedule: new version of ${file} refused, nothing imported (1 error):\n  ${file}:3: enrolled: "lots" is not a non-negative integer`);
      expect(logs.join('\n')).toContain('keeping the version in force (2 exams)');
      expect(source.current().map((e) => e.id)).toEqual(['law-1', 'med-1']);
      expect(versions).toHaveLength(1);

      // Checking again without a change does nothing (the bad version is not re-logged).
      expect(await source.check()).toEqual({ kind: 'unchanged' });
      expect(source.status()).toMatchObject({ accepted: 2, rejected: 1, storePending: false });
    } finally {
      await source.stop();
    }
  });

  it('a failed write to exam_schedule keeps the version in force and is retried on the next check', async () => {
    const file = join(dir, 'late.csv');
    save(file, csv(row('law-1', 'law', '09:00', 900)));
    const logs: string[] = [];
    // The database does not exist yet: the first write fails.
    const source = createScheduleSource({ file, pollMs: 60_000 }, { store: { client: storage.client, database: 'sched_late' }, log: (l) => logs.push(l) });
    try {
      await source.start();
      expect(source.current().map((e) => e.id)).toEqual(['law-1']);
      expect(source.status().storePending).toBe(true);
      expect(logs.join('\n')).toContain(`vigie schedule: writing ${file} to exam_schedule: `);
      await migrate(storage.client, { database: 'sched_late' });
      expect(await source.check()).toEqual({ kind: 'unchanged' });
      expect(source.status().storePending).toBe(false);
      expect((await readSchedule(storage.client, 'sched_late', { fromMs: Date.UTC(2026, 11, 7), toMs: Date.UTC(2026, 11, 8) })).map((e) => e.id)).toEqual(['law-1']);
    } finally {
      await source.stop();
    }
  });

  it('refuses to start on an invalid first version, with every error', async () => {
    const file = join(dir, 'bad.csv');
    save(file, csv('a;law;2026-12-07T09:00;60;1', 'a;law;2026-12-07T09:00:00Z;x;1'));
    const source = createScheduleSource({ file });
    const err = await source.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimetableError);
    expect((err as TimetableError).issues.map((i) => `${i.line}:${i.field}`)).toEqual(['2:start', '3:duration', '3:exam_id']);
    await source.stop();
  });
});

describe('schedule source: HTTP', () => {
  let server: Server;
  let body = csv(row('law-1', 'law', '09:00', 900));
  let status = 200;
  const seen = { requests: 0, notModified: 0, unauthorized: 0 };
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.requests++;
      if (req.headers['authorization'] !== 'Bearer s3cret') {
        seen.unauthorized++;
        res.writeHead(401).end();
        return;
      }
      if (status !== 200) {
        res.writeHead(status).end('down');
        return;
      }
      const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 12)}"`;
      if (req.headers['if-none-match'] === etag) {
        seen.notModified++;
        res.writeHead(304, { ETag: etag }).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', ETag: etag }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exams/today`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('polls with If-None-Match (304 → unchanged), accepts a new version, keeps the old one through a bad version and an outage', async () => {
    const logs: string[] = [];
    const versions: (readonly ScheduledExam[])[] = [];
    const source = createScheduleSource({ url, pollMs: 50, headers: { Authorization: 'Bearer s3cret' } }, { store: { client: storage.client, database: 'sched_http' }, log: (l) => logs.push(l) });
    await migrate(storage.client, { database: 'sched_http' });
    source.onChange((exams) => versions.push(exams));
    try {
      expect((await source.start()).exams.map((e) => e.id)).toEqual(['law-1']);
      // The poll runs by itself and the server answers 304 while nothing changes.
      await until('two 304 answers', () => seen.notModified >= 2);
      expect(versions).toEqual([]);

      body = csv(row('law-1', 'law', '09:00', 950), row('sci-1', 'sciences', '10:00', 500));
      await until('the new version', () => versions.length === 1);
      expect(versions[0]!.map((e) => [e.id, e.enrolled])).toEqual([
        ['law-1', 950],
        ['sci-1', 500],
      ]);
      expect((await readSchedule(storage.client, 'sched_http', { fromMs: Date.UTC(2026, 11, 7), toMs: Date.UTC(2026, 11, 8) })).map((e) => e.enrolled)).toEqual([950, 500]);

      body = csv(row('law-1', 'law', '09:00', 950), row('law-1', 'law', '10:00', 500));
      await until('the rejection', () => source.status().rejected === 1);
      expect(logs.join('\n')).toContain(`${url}:3: exam_id: "law-1" is already used on line 2`);
      expect(source.current().map((e) => e.id)).toEqual(['law-1', 'sci-1']);

      status = 503;
      await until('the outage to be seen', () => source.status().unreachable >= 1);
      expect(logs.join('\n')).toContain(`${url} unreachable: UnavailableError: HTTP 503 Service Unavailable; keeping the version in force (2 exams)`);
      expect(source.current()).toHaveLength(2);
      expect(versions).toHaveLength(1);
      expect(seen.unauthorized).toBe(0);
    } finally {
      await source.stop();
    }
  });

  it('fails to start when the server refuses the request', async () => {
    const source = createScheduleSource({ url, pollMs: 1000 });
    await expect(source.start()).rejects.toThrow(`cannot load the timetable ${url}: UnavailableError: HTTP 401 Unauthorized`);
  });
});
