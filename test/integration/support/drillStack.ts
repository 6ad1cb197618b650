/**
 * A real web stack for the saturation drill: private nginx and PHP-FPM instances from
 * Debian (installed by `scripts/drill-stack.sh`) with their own config files in a temp
 * directory, on 127.0.0.1. PHP-FPM runs a fixed pool (`pm = static`), so the pool, not
 * the machine's CPU, is what saturates: the exam page's cost is mostly a wait (a slow
 * exam engine), a read of the exam's questions through a persistent SQLite connection
 * per worker (PHP's connection pool), and a little CPU. nginx writes the access log in
 * the format Vigie's tailer reads, with `$request_time`, `$upstream_response_time` and
 * the session cookie, and serves `stub_status` and the pool's `pm.status_path`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the drill's binaries are. */
export interface DrillBinaries {
  readonly nginx: string;
  readonly phpFpm: string;
  readonly vegeta: string;
}

const INSTALL_HINT = 'run `bash scripts/drill-stack.sh` (installs nginx-light, php-fpm, php-sqlite3 from Debian and builds vegeta v12.13.0)';

/**
 * The binaries, from `VIGIE_NGINX` / `VIGIE_PHP_FPM` / `VIGIE_VEGETA` or where
 * `scripts/drill-stack.sh` puts them. Throws (never skips) when one is missing.
 */
export function drillBinaries(env: NodeJS.ProcessEnv = process.env): DrillBinaries {
  const cache = env['VIGIE_CACHE'] ?? join(homedir(), '.cache/vigie');
  const fpmCandidates = existsSync('/usr/sbin') ? readdirSync('/usr/sbin').filter((f) => /^php-fpm[\d.]*$/.test(f)).sort() : [];
  const found = {
    nginx: env['VIGIE_NGINX'] ?? '/usr/sbin/nginx',
    phpFpm: env['VIGIE_PHP_FPM'] ?? (fpmCandidates.length ? join('/usr/sbin', fpmCandidates[fpmCandidates.length - 1]!) : '/usr/sbin/php-fpm'),
    vegeta: env['VIGIE_VEGETA'] ?? join(cache, 'vegeta-v12.13.0/vegeta'),
  };
  const missing = Object.entries(found).filter(([, p]) => !existsSync(p));
  if (missing.length) throw new Error(`the drill needs ${missing.map(([k, p]) => `${k} (${p})`).join(', ')}: ${INSTALL_HINT}`);
  const sqlite = spawnSync(found.phpFpm, ['-m'], { encoding: 'utf8' });
  if (!/^pdo_sqlite$/m.test(sqlite.stdout ?? '')) throw new Error(`${found.phpFpm} has no pdo_sqlite module: ${INSTALL_HINT}`);
  return found;
}

/** Shape of the stack. */
export interface DrillStackOptions {
  readonly dir: string;
  readonly bins: DrillBinaries;
  readonly nginxPort: number;
  readonly fpmPort: number;
  /** `pm.max_children` of the static pool. */
  readonly workers: number;
  /** Wait in the exam page (ms): the pool's service time, independent of CPU contention. */
  readonly examMs: number;
  readonly loginMs: number;
  /** Course id of the exam (the route table maps it to a faculty). */
  readonly course: string;
  /** Students in the roster (`s00001`…). */
  readonly students: number;
}

/** A running stack. */
export interface DrillStack {
  readonly baseUrl: string;
  readonly accessLog: string;
  readonly stubStatusUrl: string;
  readonly fpmStatusUrl: string;
  /** Error logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const LOG_FORMAT = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time "$cookie_PHPSESSID"';

/** nginx `log_format` of the drill, as given to the access-log tailer. */
export const DRILL_LOG_FORMAT = LOG_FORMAT;

const PHP_COMMON = `<?php
// Drill workload: one persistent SQLite connection per PHP-FPM worker (PHP's own pool).
function db(): PDO {
  $db = new PDO('sqlite:' . getenv('DRILL_DB'), null, null, [PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
  $db->exec('PRAGMA busy_timeout = 5000');
  return $db;
}
`;

const PHP_INIT = `<?php
require __DIR__ . '/common.php';
$db = db();
$db->exec('CREATE TABLE IF NOT EXISTS students (id TEXT PRIMARY KEY, name TEXT)');
$db->exec('CREATE TABLE IF NOT EXISTS questions (course TEXT, id INTEGER, text TEXT, PRIMARY KEY (course, id))');
$n = (int) ($_GET['students'] ?? 0);
$course = $_GET['course'] ?? '';
$db->beginTransaction();
$s = $db->prepare('INSERT OR IGNORE INTO students VALUES (?, ?)');
for ($i = 1; $i <= $n; $i++) { $id = sprintf('s%05d', $i); $s->execute([$id, "Student $i"]); }
$q = $db->prepare('INSERT OR IGNORE INTO questions VALUES (?, ?, ?)');
for ($i = 1; $i <= 20; $i++) $q->execute([$course, $i, "Question $i of course $course"]);
$db->commit();
echo 'students=' . $db->query('SELECT count(*) FROM students')->fetchColumn();
`;

const PHP_LOGIN = `<?php
require __DIR__ . '/common.php';
$course = $_GET['course'] ?? '';
session_start();
usleep((int) getenv('DRILL_LOGIN_MS') * 1000);
$st = db()->prepare('SELECT name FROM students WHERE id = ?');
$st->execute([$_POST['student'] ?? '']);
$name = $st->fetchColumn();
if ($name === false) { echo '<form method="post">Unknown student, try again</form>'; exit; }
$_SESSION['student'] = $_POST['student'];
header('Location: /exam.php?course=' . urlencode($course), true, 302);
`;

const PHP_EXAM = `<?php
require __DIR__ . '/common.php';
$course = $_GET['course'] ?? '';
session_start();
$student = $_SESSION['student'] ?? null;
session_write_close();
if ($student === null) { header('Location: /login.php?course=' . urlencode($course), true, 302); exit; }
$q = db()->prepare('SELECT id, text FROM questions WHERE course = ? ORDER BY id');
$q->execute([$course]);
$rows = $q->fetchAll(PDO::FETCH_NUM);
usleep((int) getenv('DRILL_EXAM_MS') * 1000);
$h = $student;
for ($i = 0; $i < 300; $i++) $h = md5($h);
echo "<h1>Exam $course</h1><p>" . htmlspecialchars($student) . " $h</p><ol>";
foreach ($rows as $r) echo '<li>' . htmlspecialchars($r[1]) . '</li>';
echo '</ol>';
`;

async function waitUntil(what: string, timeoutMs: number, cond: () => Promise<boolean>, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`drill stack: ${what} not ready within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes the configs and the PHP pages, starts PHP-FPM and nginx, seeds the database. */
export async function startDrillStack(o: DrillStackOptions): Promise<DrillStack> {
  const www = join(o.dir, 'www');
  for (const d of [www, join(o.dir, 'sessions'), join(o.dir, 'nginx-tmp'), join(o.dir, 'logs')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(www, 'common.php'), PHP_COMMON);
  writeFileSync(join(www, 'init.php'), PHP_INIT);
  writeFileSync(join(www, 'login.php'), PHP_LOGIN);
  writeFileSync(join(www, 'exam.php'), PHP_EXAM);
  const root = process.getuid?.() === 0;
  const fpmConf = join(o.dir, 'php-fpm.conf');
  writeFileSync(
    fpmConf,
    [
      '[global]',
      `pid = ${join(o.dir, 'php-fpm.pid')}`,
      `error_log = ${join(o.dir, 'logs/php-fpm.log')}`,
      'daemonize = no',
      '[exam]',
      `listen = 127.0.0.1:${o.fpmPort}`,
      // The accept queue: requests wait here for a free worker (PHP-FPM's "listen queue").
      'listen.backlog = 1024',
      'pm = static',
      `pm.max_children = ${o.workers}`,
      'pm.status_path = /fpm-status',
      'ping.path = /fpm-ping',
      'request_terminate_timeout = 120s',
      'catch_workers_output = yes',
      `env[DRILL_DB] = ${join(o.dir, 'exam.sqlite')}`,
      `env[DRILL_EXAM_MS] = ${o.examMs}`,
      `env[DRILL_LOGIN_MS] = ${o.loginMs}`,
      `php_admin_value[session.save_path] = ${join(o.dir, 'sessions')}`,
      'php_admin_value[session.use_strict_mode] = 0',
      `php_admin_value[error_log] = ${join(o.dir, 'logs/php-errors.log')}`,
      'php_admin_flag[log_errors] = on',
      '',
    ].join('\n'),
  );
  const nginxConf = join(o.dir, 'nginx.conf');
  const fastcgi = [
    `fastcgi_pass 127.0.0.1:${o.fpmPort};`,
    'include /etc/nginx/fastcgi_params;',
    'fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;',
    'fastcgi_param SCRIPT_NAME $fastcgi_script_name;',
    'fastcgi_read_timeout 120s;',
  ].join(' ');
  writeFileSync(
    nginxConf,
    [
      ...(root ? ['user root root;'] : []),
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(o.dir, 'nginx.pid')};`,
      `error_log ${join(o.dir, 'logs/nginx-error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      `  log_format drill '${LOG_FORMAT}';`,
      `  access_log ${join(o.dir, 'logs/access.log')} drill;`,
      `  client_body_temp_path ${join(o.dir, 'nginx-tmp/body')};`,
      `  fastcgi_temp_path ${join(o.dir, 'nginx-tmp/fastcgi')};`,
      `  proxy_temp_path ${join(o.dir, 'nginx-tmp/proxy')};`,
      `  uwsgi_temp_path ${join(o.dir, 'nginx-tmp/uwsgi')};`,
      `  scgi_temp_path ${join(o.dir, 'nginx-tmp/scgi')};`,
      '  keepalive_timeout 30s;',
      '  server {',
      `    listen 127.0.0.1:${o.nginxPort} backlog=1024;`,
      `    root ${www};`,
      '    location = /nginx_status { stub_status; access_log off; }',
      `    location ~ ^/(fpm-status|fpm-ping)$ { access_log off; ${fastcgi} }`,
      `    location ~ \\.php$ { ${fastcgi} }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 20_000) out = out.slice(-20_000);
  };
  const procs: ChildProcess[] = [];
  const launch = (bin: string, args: string[]) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    p.on('error', (e) => (out += `\n${bin}: ${e.message}`));
    procs.push(p);
    return p;
  };
  const logs = () => {
    const tail = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').slice(-3000) : '');
    return `${out}\n--- php-fpm.log\n${tail(join(o.dir, 'logs/php-fpm.log'))}\n--- php-errors.log\n${tail(join(o.dir, 'logs/php-errors.log'))}\n--- nginx-error.log\n${tail(join(o.dir, 'logs/nginx-error.log'))}`;
  };
  launch(o.bins.phpFpm, ['-F', '-y', fpmConf, ...(root ? ['-R'] : [])]);
  launch(o.bins.nginx, ['-p', o.dir, '-c', nginxConf, '-e', join(o.dir, 'logs/nginx-error.log')]);
  const baseUrl = `http://127.0.0.1:${o.nginxPort}`;
  const stack: DrillStack = {
    baseUrl,
    accessLog: join(o.dir, 'logs/access.log'),
    stubStatusUrl: `${baseUrl}/nginx_status`,
    fpmStatusUrl: `${baseUrl}/fpm-status`,
    logs,
    async stop() {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null || p.signalCode !== null) return resolve();
              const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
              p.once('exit', () => (clearTimeout(t), resolve()));
              p.kill('SIGQUIT'); // both stop gracefully on QUIT
            }),
        ),
      );
    },
  };
  try {
    await waitUntil('PHP-FPM behind nginx', 30_000, async () => (await fetch(`${baseUrl}/fpm-ping`)).ok, logs);
    const init = await fetch(`${baseUrl}/init.php?students=${o.students}&course=${encodeURIComponent(o.course)}`);
    const body = await init.text();
    if (!init.ok || !body.includes(`students=${o.students}`)) throw new Error(`drill stack: seeding the database answered ${init.status}: ${body.slice(0, 300)}\n${logs()}`);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
