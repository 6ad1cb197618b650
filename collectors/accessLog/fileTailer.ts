/**
 * Follows one log file by polling, across the two rotation styles logrotate uses:
 * rename + new file (the open descriptor is read to its end, then the new file from 0)
 * and copytruncate (the size drops below our offset or the first bytes change: the
 * lines written between our last read and the truncation are read from the rotated
 * copy, found by its first bytes). Its position (device, inode, offset, first bytes)
 * is plain data that the owner persists; a restart resumes there, finding the old file
 * among the rotated names by inode when it was renamed meanwhile. Only complete lines
 * are consumed, so a line being written is read once, whole.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** Where a tailer is; persist it to resume after a restart. */
export interface FilePosition {
  readonly dev: number;
  readonly ino: number;
  readonly offset: number;
  /** Base64 of the file's first bytes (up to {@link HEAD_BYTES}), to recognise a copy or a truncation. */
  readonly head: string;
}

/** Bytes of the head fingerprint. */
export const HEAD_BYTES = 128;
const CHUNK = 1 << 20;

interface Open {
  fd: number;
  dev: number;
  ino: number;
  offset: number;
  head: Buffer;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function readHead(fd: number, n = HEAD_BYTES): Buffer {
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, 0);
  return b.subarray(0, got);
}

/** What a tailer reports besides lines (logging, counters). */
export interface TailerEvents {
  /** Rotation or truncation noticed, or bytes that could not be recovered. */
  readonly onEvent?: (kind: 'rotated' | 'truncated' | 'recovered' | 'gap', detail: string) => void;
}

/** A poll-driven follower of `path`; see the module comment. */
export class FileTailer {
  readonly path: string;
  private readonly rotatedPaths: readonly string[];
  private readonly events: TailerEvents;
  private cur: Open | null = null;
  private saved: FilePosition | null;
  /** One read buffer for the tailer's life: polls stay allocation-free when nothing changed. */
  private buf: Buffer | null = null;

  constructor(path: string, opts: { rotatedPaths?: readonly string[]; position?: FilePosition | null } & TailerEvents = {}) {
    this.path = path;
    this.rotatedPaths = opts.rotatedPaths ?? [`${path}.1`];
    this.saved = opts.position ?? null;
    this.events = opts;
  }

  /** Reads every complete new line (across a rotation); returns how many were passed to `onLine`. */
  poll(onLine: (line: string) => void): number {
    let n = 0;
    const st = statOrNull(this.path);
    if (this.cur === null) {
      if (st === null) return 0;
      const fd = openSync(this.path, 'r');
      const fst = fstatSync(fd);
      const head = readHead(fd);
      const o: Open = { fd, dev: fst.dev, ino: fst.ino, offset: 0, head };
      const s = this.saved;
      if (s !== null) {
        const sameFile = s.dev === fst.dev && s.ino === fst.ino;
        if (sameFile && fst.size >= s.offset && startsWith(head, Buffer.from(s.head, 'base64'))) {
          o.offset = s.offset;
        } else {
          // Rotated (renamed or copied and truncated) while we were not running.
          n += this.recover(s, onLine, sameFile ? 'truncated' : 'rotated');
        }
        this.saved = null;
      }
      this.cur = o;
    } else if (st !== null && (st.ino !== this.cur.ino || st.dev !== this.cur.dev)) {
      // Renamed away: finish the old file through its descriptor, then start the new one.
      n += this.drain(this.cur, onLine, true);
      this.events.onEvent?.('rotated', `${this.path}: new file (inode ${st.ino}), old one read to its end at ${this.cur.offset}`);
      closeSync(this.cur.fd);
      const fd = openSync(this.path, 'r');
      const fst = fstatSync(fd);
      this.cur = { fd, dev: fst.dev, ino: fst.ino, offset: 0, head: readHead(fd) };
    } else if (st !== null) {
      const c = this.cur;
      const headNow = readHead(c.fd, c.head.length);
      if (st.size < c.offset || !headNow.equals(c.head)) {
        n += this.recover({ dev: c.dev, ino: -1, offset: c.offset, head: c.head.toString('base64') }, onLine, 'truncated');
        c.offset = 0;
        c.head = readHead(c.fd);
      }
    }
    if (this.cur !== null) {
      if (this.cur.head.length < HEAD_BYTES) this.cur.head = readHead(this.cur.fd);
      n += this.drain(this.cur, onLine, false);
    }
    return n;
  }

  /** The position to persist (the saved one until the file was opened). */
  position(): FilePosition | null {
    if (this.cur === null) return this.saved;
    return { dev: this.cur.dev, ino: this.cur.ino, offset: this.cur.offset, head: this.cur.head.toString('base64') };
  }

  /** Closes the descriptor. */
  close(): void {
    if (this.cur !== null) closeSync(this.cur.fd);
    this.cur = null;
  }

  /**
   * Reads the rest of the rotated copy of `s` from `s.offset`, then every rotated file
   * newer than it (`rotatedPaths` is newest first, as logrotate numbers them): when
   * several rotations happened while we were down, the lines in between are there.
   */
  private recover(s: FilePosition, onLine: (line: string) => void, why: 'rotated' | 'truncated'): number {
    const head = Buffer.from(s.head, 'base64');
    const current = statOrNull(this.path);
    for (let k = 0; k < this.rotatedPaths.length; k++) {
      const p = this.rotatedPaths[k]!;
      const st = statOrNull(p);
      if (st === null) continue;
      let fd: number;
      try {
        fd = openSync(p, 'r');
      } catch {
        continue;
      }
      let n = 0;
      try {
        const byInode = st.ino === s.ino && st.dev === s.dev;
        if (!byInode && !(startsWith(readHead(fd), head) && st.size >= s.offset)) continue;
        n = this.drain({ fd, dev: st.dev, ino: st.ino, offset: s.offset, head }, onLine, true);
        this.events.onEvent?.('recovered', `${this.path} ${why}: read ${n} line(s) from ${p} after offset ${s.offset}`);
      } finally {
        closeSync(fd);
      }
      for (let j = k - 1; j >= 0; j--) {
        const q = this.rotatedPaths[j]!;
        const qs = statOrNull(q);
        if (qs === null || (current !== null && qs.ino === current.ino && qs.dev === current.dev)) continue;
        const qfd = openSync(q, 'r');
        try {
          const m = this.drain({ fd: qfd, dev: qs.dev, ino: qs.ino, offset: 0, head: Buffer.alloc(0) }, onLine, true);
          this.events.onEvent?.('recovered', `${this.path} ${why}: read ${m} line(s) from the newer rotated file ${q}`);
          n += m;
        } finally {
          closeSync(qfd);
        }
      }
      return n;
    }
    if (s.offset > 0) this.events.onEvent?.('gap', `${this.path} ${why}: no rotated copy among ${this.rotatedPaths.join(', ')} holds the lines after offset ${s.offset}; they may be lost`);
    return 0;
  }

  /** Emits complete lines from `o.offset`; at the end of a closed file, a last unterminated line too. */
  private drain(o: Open, onLine: (line: string) => void, final: boolean): number {
    let n = 0;
    const buf = (this.buf ??= Buffer.allocUnsafe(CHUNK));
    for (;;) {
      const got = readSync(o.fd, buf, 0, CHUNK, o.offset);
      if (got === 0) break;
      let start = 0;
      for (let i = buf.indexOf(10, 0); i !== -1 && i < got; i = buf.indexOf(10, start)) {
        let end = i;
        if (end > start && buf[end - 1] === 13) end--;
        onLine(buf.toString('utf8', start, end));
        n++;
        start = i + 1;
      }
      if (start === 0 && got === CHUNK) {
        // A line longer than the chunk: emit it cut rather than stall forever.
        onLine(buf.toString('utf8', 0, got));
        n++;
        start = got;
      }
      o.offset += start;
      if (got < CHUNK) {
        if (final && start < got) {
          onLine(buf.toString('utf8', start, got));
          n++;
          o.offset += got - start;
        }
        break;
      }
    }
    return n;
  }
}

function startsWith(a: Buffer, prefix: Buffer): boolean {
  return a.length >= prefix.length && a.subarray(0, prefix.length).equals(prefix);
}
