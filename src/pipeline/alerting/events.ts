/**
 * The alerting catalogue: what metrics, logs and /status listen to. Alerting
 * emits, knows nothing of listeners. Payloads may carry a fingerprint for
 * logs; metrics must not use it as a label (cardinality).
 */
import { EventEmitter } from 'node:events';

export type AlertMessageKind = 'alert' | 'digest' | 'update' | 'analysis' | 'summary';
export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type SuppressionReason = 'window' | 'silenced' | 'below_threshold' | 'claimed_elsewhere' | 'no_rule';
export type DropReason = 'queue_full' | 'rejected' | 'payload_invalid' | 'shutdown';

export interface AlertEvents {
  /** A message reached its destination (2xx and, for the Web API, `ok: true`). */
  'alert.sent': [{ destination: string; kind: AlertMessageKind; severity: AlertSeverity; fingerprint: string; latencyMs: number }];
  /** Occurrences counted into an open window or muted instead of alerting. */
  'alert.suppressed': [{ reason: SuppressionReason; count: number; fingerprint: string }];
  /** One delivery attempt failed; `retriable` says whether it will be tried again. Error is a code, never a URL or token. */
  'alert.failed': [{ destination: string; kind: AlertMessageKind; error: string; retriable: boolean }];
  /** A message was given up: its queue was full, Slack rejected it for good, or the process stopped first. */
  'alert.dropped': [{ destination: string; kind: AlertMessageKind; reason: DropReason }];
  'window.opened': [{ fingerprint: string; ruleId: string; claimed: boolean }];
  'window.closed': [{ fingerprint: string; ruleId: string; count: number }];
}

export class AlertEventBus extends EventEmitter<AlertEvents> {}

/** One open window as /status shows it (top-N by count). */
export interface OpenWindowSummary {
  readonly fingerprint: string;
  readonly service: string;
  readonly ruleId: string;
  readonly count: number;
  readonly openedAtMs: number;
  readonly closesAtMs: number;
}

/** What alerting exposes for gauges and /status; read on scrape, never pushed. */
export interface AlertingStatus {
  openWindows(): number;
  queueDepth(): number;
  topWindows(limit: number): readonly OpenWindowSummary[];
}
