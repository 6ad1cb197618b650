/**
 * A small progress bar on stderr for long report builds. On a TTY it redraws one line
 * (`[#####-----] 3/7 rendering charts`); otherwise (CI logs, pipes) it prints one plain
 * line per step and nothing else, so logs stay readable.
 */

/** Where progress goes; `isTTY` decides between redrawing and one line per step. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** A running progress display. */
export interface Progress {
  /** Starts step `name` (counts as the next of `total`). */
  step(name: string): void;
  /** Ends the display (a newline on a TTY). */
  done(): void;
}

/** A progress display that prints nothing. */
export const silentProgress: Progress = { step: () => {}, done: () => {} };

/** Creates a progress display for `total` steps. */
export function createProgress(opts: { total: number; label: string; stream?: ProgressStream; width?: number }): Progress {
  const stream = opts.stream ?? process.stderr;
  const width = opts.width ?? 24;
  const tty = stream.isTTY === true;
  let n = 0;
  let drawn = false;
  return {
    step(name) {
      n = Math.min(n + 1, opts.total);
      if (tty) {
        const filled = Math.round((width * (n - 1)) / opts.total);
        const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
        stream.write(`\r\x1b[2K${opts.label} [${bar}] ${n}/${opts.total} ${name}`);
        drawn = true;
      } else {
        stream.write(`${opts.label}: [${n}/${opts.total}] ${name}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write(`\r\x1b[2K${opts.label} [${'#'.repeat(width)}] ${opts.total}/${opts.total} done\n`);
    },
  };
}
