/**
 * An alert's content as it is stored in the alert table (so that another
 * replica can send it) and rendered: built once per window from the first
 * candidate, redacted before it is stored or leaves the process, and bounded
 * (a huge trace or message cannot make a huge item or payload).
 */
import type { IncidentCandidate } from '../../workers/protocol.js';
import type { Redactor } from '../redaction.js';
import type { AlertSeverity } from './events.js';
import { severityFor, type CompiledRule, type Links } from './config.js';

export const MAX_SNAPSHOT_MESSAGE_CHARS = 4_000;
export const MAX_SNAPSHOT_TEMPLATE_CHARS = 1_000;
export const MAX_SNAPSHOT_FRAME_CHARS = 300;

export interface AlertSnapshot {
  readonly fingerprint: string;
  readonly service: string;
  readonly level: string;
  readonly kind: 'stack' | 'message';
  readonly template: string;
  readonly message: string;
  readonly exception: string | undefined;
  readonly frames: readonly string[];
  readonly namespace: string | undefined;
  readonly image: string | undefined;
  readonly ruleId: string;
  readonly severity: AlertSeverity;
  readonly route: string | undefined;
  readonly windowMs: number;
  readonly environment: string | undefined;
  readonly links: Links;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Redact first, then clip: a secret cut in half by clipping would no longer
 * match its pattern. Only a very long text is cut before redaction (bounded
 * cost), far enough out that placeholders shorter than what they replace
 * cannot pull the cut into what is kept.
 */
export function snapshotOf(c: IncidentCandidate, rule: CompiledRule, redactor: Redactor, environment: string | undefined): AlertSnapshot {
  const r = (text: string, max: number): string => clip(redactor.redact(text.length > 16 * max ? text.slice(0, 16 * max) : text), max);
  return {
    fingerprint: c.fingerprint,
    service: r(c.service, 128),
    level: c.levelClass,
    kind: c.kind,
    template: r(c.template, MAX_SNAPSHOT_TEMPLATE_CHARS),
    message: r(c.sample.message, MAX_SNAPSHOT_MESSAGE_CHARS),
    exception: c.sample.exception === undefined ? undefined : r(c.sample.exception, 256),
    frames: (c.sample.frames ?? []).map((line) => r(line, MAX_SNAPSHOT_FRAME_CHARS)),
    namespace: c.kubernetes?.namespace === undefined ? undefined : r(c.kubernetes.namespace, 253),
    image: c.kubernetes?.image === undefined ? undefined : r(c.kubernetes.image, 256),
    ruleId: rule.id,
    severity: severityFor(rule, c.levelClass),
    route: rule.route,
    windowMs: rule.windowMs,
    environment,
    links: rule.links,
  };
}

/** Occurrence facts of a window at some moment: what an alert, update or digest reports. */
export interface WindowFacts {
  /** Occurrences this message reports: the alert's at send time, or a digest's repeats. */
  readonly count: number;
  /** All occurrences of the window so far (alert + repeats). */
  readonly total: number;
  readonly pods: readonly string[];
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly openedAtMs: number;
  readonly closesAtMs: number;
}
