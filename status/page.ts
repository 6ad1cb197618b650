/**
 * The static status page students open: bilingual (French first), one block per
 * published notice, a short "restored" line for notices cleared in the last hour, and
 * "all services operational" otherwise. Self-contained HTML (no scripts), refreshed by
 * the browser every minute.
 */
import { publicView, type StatusNotice } from './notice.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Renders the page for the notices at `nowMs`. */
export function renderStatusPage(notices: readonly StatusNotice[], nowMs: number, timeZone = 'Europe/Brussels'): string {
  const stamp = new Intl.DateTimeFormat('fr-BE', { dateStyle: 'short', timeStyle: 'short', timeZone }).format(new Date(nowMs));
  const live = notices.filter((n) => n.state === 'published');
  const recent = notices.filter((n) => n.state === 'cleared' && n.clearedAt !== null && nowMs - n.clearedAt < 3_600_000);
  const block = (n: StatusNotice, cls: string) => {
    const v = publicView(n);
    return `<section class="notice ${cls}" data-notice="${esc(v.id)}">
  <div lang="fr"><h2>${esc(v.fr.title)}</h2><p>${esc(v.fr.body)}</p></div>
  <div lang="en"><h2>${esc(v.en.title)}</h2><p>${esc(v.en.body)}</p></div>
</section>`;
  };
  const ok = `<section class="notice ok"><div lang="fr"><h2>Tous les services fonctionnent normalement</h2></div><div lang="en"><h2>All services are operating normally</h2></div></section>`;
  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta http-equiv="refresh" content="60"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>État de la plateforme d'examens / Exam platform status</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2430}header{background:#1d3557;color:#fff;padding:18px 24px}
header h1{margin:0;font-size:22px}main{max-width:760px;margin:24px auto;padding:0 16px}.notice{background:#fff;border-left:6px solid #c0392b;border-radius:6px;padding:8px 20px;margin-bottom:16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.notice.cleared{border-color:#27ae60}.notice.ok{border-color:#27ae60}.notice h2{font-size:18px;margin:12px 0 4px}.notice p{margin:0 0 12px;line-height:1.45}
div[lang=en]{color:#45505f;border-top:1px solid #eee}footer{max-width:760px;margin:0 auto 24px;padding:0 16px;color:#6b7380;font-size:13px}</style></head>
<body><header><h1>État de la plateforme d'examens · Exam platform status</h1></header>
<main>
${live.length ? live.map((n) => block(n, 'active')).join('\n') : ok}
${recent.map((n) => block(n, 'cleared')).join('\n')}
</main>
<footer>Mis à jour / updated ${esc(stamp)} (${esc(timeZone)}; les heures ci-dessus aussi / times above too)</footer>
</body></html>
`;
}
