/**
 * Student-facing status notices: what a student reads when the platform or their
 * faculty fails during an exam. Built from page transitions, in plain French and
 * English: what is affected, that it is being handled, when the next update comes, and
 * what to do about the exam. Only the faculty's public name ever reaches the text —
 * never hosts, values, rule names, runbooks or annotations (the alert's labels and
 * annotations are not read beyond `severity` and `faculty`).
 */
import type { AlertTransition } from '../rules/engine.ts';
import { FACULTIES } from '../simulator/model.ts';

/** A notice's life: published (visible), held (an operator stopped it), cleared (over). */
export type NoticeState = 'published' | 'held' | 'cleared';

/** One language's text. */
export interface NoticeText {
  readonly title: string;
  readonly body: string;
}

/** One notice, per affected scope (the platform, or one faculty). */
export interface StatusNotice {
  /** `platform` or `faculty-<code>`: one notice per scope, however many alerts feed it. */
  readonly id: string;
  readonly faculty: string | null;
  readonly state: NoticeState;
  readonly fr: NoticeText;
  readonly en: NoticeText;
  /** Operator-edited text is kept as is on later updates. */
  readonly edited: boolean;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly nextUpdateAt: number;
  readonly clearedAt: number | null;
  /** Fingerprints of the firing alerts behind the notice (internal: never published). */
  readonly alerts: readonly string[];
}

/** Public names of faculties (French, English); unknown codes are shown as given. */
export const FACULTY_NAMES: ReadonlyMap<string, { fr: string; en: string }> = new Map(
  FACULTIES.map((f) => [f.code, { fr: f.name, en: f.name }]),
);

const hhmm = (ms: number, tz: string) => new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: tz, hour12: false }).format(new Date(ms));

/** Whether a transition concerns students: a page, platform-wide (no faculty) or faculty-wide. */
export function isStudentFacing(t: AlertTransition): boolean {
  return t.labels['severity'] === 'page' && (t.state === 'firing' || t.state === 'resolved');
}

/** The notice scope of a transition. */
export function scopeOf(t: AlertTransition): { id: string; faculty: string | null } {
  const f = t.labels['faculty'];
  return f === undefined || f === '' ? { id: 'platform', faculty: null } : { id: `faculty-${f.replace(/[^\w-]/g, '_')}`, faculty: f };
}

/** The generated text of a notice (French and English). */
export function noticeText(faculty: string | null, nextUpdateAt: number, timeZone = 'Europe/Brussels'): { fr: NoticeText; en: NoticeText } {
  const name = faculty === null ? null : (FACULTY_NAMES.get(faculty) ?? { fr: faculty, en: faculty });
  const next = hhmm(nextUpdateAt, timeZone);
  return {
    fr: {
      title: name ? `Perturbation de la plateforme d'examens — ${name.fr}` : "Perturbation de la plateforme d'examens",
      body:
        `${name ? `Les examens en ligne de la faculté ${name.fr} sont perturbés` : 'La plateforme d’examens en ligne est perturbée'} : la connexion ou les pages peuvent être lentes ou indisponibles. ` +
        `Nos équipes techniques sont au travail. Prochaine information à ${next} au plus tard. ` +
        `Votre examen : restez connecté·e si vous l’êtes, ne recommencez pas votre tentative et n’appelez pas le support. ` +
        `Aucun étudiant ne sera pénalisé : le temps perdu sera rendu ou l’examen reprogrammé, et votre faculté vous en informera.`,
    },
    en: {
      title: name ? `Exam platform disruption — ${name.en}` : 'Exam platform disruption',
      body:
        `${name ? `Online exams of the ${name.en} faculty are disrupted` : 'The online exam platform is disrupted'}: logging in or loading pages may be slow or fail. ` +
        `Our technical teams are working on it. Next update at ${next} at the latest. ` +
        `Your exam: stay connected if you are, do not restart your attempt and do not call the helpdesk. ` +
        `No student will be penalised: lost time will be given back or the exam rescheduled, and your faculty will tell you which.`,
    },
  };
}

/** The cleared text (shown briefly after a resolve, then the notice leaves the page). */
export function clearedText(faculty: string | null): { fr: NoticeText; en: NoticeText } {
  const name = faculty === null ? null : (FACULTY_NAMES.get(faculty) ?? { fr: faculty, en: faculty });
  return {
    fr: { title: name ? `Rétabli — ${name.fr}` : 'Plateforme rétablie', body: 'La plateforme fonctionne à nouveau normalement. Votre faculté vous indiquera la suite pour votre examen.' },
    en: { title: name ? `Resolved — ${name.en}` : 'Platform restored', body: 'The platform works normally again. Your faculty will tell you what happens with your exam.' },
  };
}

/** What a notice shows to the outside (page, webhook): no alert fingerprints, nothing internal. */
export interface PublicNotice {
  readonly id: string;
  readonly faculty: string | null;
  readonly state: NoticeState;
  readonly fr: NoticeText;
  readonly en: NoticeText;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly nextUpdateAt: string | null;
}

/** The public view of a notice. */
export function publicView(n: StatusNotice): PublicNotice {
  return {
    id: n.id,
    faculty: n.faculty,
    state: n.state,
    fr: n.fr,
    en: n.en,
    startedAt: new Date(n.startedAt).toISOString(),
    updatedAt: new Date(n.updatedAt).toISOString(),
    nextUpdateAt: n.state === 'published' ? new Date(n.nextUpdateAt).toISOString() : null,
  };
}
