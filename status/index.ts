/**
 * Status — student-facing notices. In: alert transitions from the rules stage (pages
 * labelled `severity=page`, platform-wide or per `faculty`) and operator commands. Out:
 * a bilingual static status page served by Vigie, and a JSON webhook for the
 * university's CMS or intranet. Nothing internal (hosts, values, runbooks) leaves it.
 */
export { createStatusPublisher } from './publisher.ts';
export type { StatusPublisher, StatusPublisherOptions, StatusWebhookPayload } from './publisher.ts';
export { noticeText, clearedText, publicView, isStudentFacing, scopeOf, FACULTY_NAMES } from './notice.ts';
export type { StatusNotice, PublicNotice, NoticeText, NoticeState } from './notice.ts';
export { renderStatusPage } from './page.ts';
export { startStatusServer } from './server.ts';
export type { StatusServer } from './server.ts';
export { readStatusState, writeStatusState } from './store.ts';
export type { StatusState } from './store.ts';
