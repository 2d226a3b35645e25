/**
 * The incidents index: one document per alert window (fingerprint + the time
 * the window opened), written when alerting sends the alert, with the RAG
 * analysis merged into it when that arrives and the final count when the
 * window closes. The id is derived from
 * (fingerprint, window start), so a retried call updates instead of adding.
 * Text arrives already redacted (alerting redacts before anything leaves).
 * Failures come back as a rejected promise with a SinkError: alerting
 * decides whether to retry; nothing here blocks delivery to Slack.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { IncidentAnalysis } from '../../rag/analysis.js';
import { SinkError } from '../sink.js';
import { documentId } from './request.js';
import { classifyRequestError } from './retry-policy.js';

export interface IncidentRecord {
  readonly fingerprint: string;
  readonly windowOpenedAtMs: number;
  readonly service: string;
  readonly ruleId: string;
  readonly severity: string;
  readonly kind: 'stack' | 'message';
  readonly levelClass: string;
  readonly template: string;
  readonly message: string;
  readonly exception?: string | undefined;
  readonly count: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly pods: readonly string[];
}

export interface IncidentCount {
  readonly count: number;
  readonly lastSeenMs: number;
  readonly pods: readonly string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class IncidentIndexWriter {
  constructor(private readonly client: Client, private readonly index: string) {}

  static idOf(fingerprint: string, windowOpenedAtMs: number): string {
    return documentId('incident', fingerprint, windowOpenedAtMs);
  }

  /** Creates or refreshes the incident's document (count and last seen move on with digests). */
  async recordIncident(incident: IncidentRecord): Promise<void> {
    const doc = {
      '@timestamp': iso(incident.windowOpenedAtMs),
      fingerprint: incident.fingerprint, service: incident.service, ruleId: incident.ruleId, severity: incident.severity,
      kind: incident.kind, levelClass: incident.levelClass, template: incident.template, message: incident.message,
      ...(incident.exception === undefined ? {} : { exception: incident.exception }),
      count: incident.count, firstSeen: iso(incident.firstSeenMs), lastSeen: iso(incident.lastSeenMs), pods: [...incident.pods],
    };
    await this.update(IncidentIndexWriter.idOf(incident.fingerprint, incident.windowOpenedAtMs), doc);
  }

  /** The window's count, last seen and pods once it closed (its digests are out). */
  async recordCount(fingerprint: string, windowOpenedAtMs: number, count: IncidentCount): Promise<void> {
    const doc = { '@timestamp': iso(windowOpenedAtMs), fingerprint, count: count.count, lastSeen: iso(count.lastSeenMs), pods: [...count.pods] };
    await this.update(IncidentIndexWriter.idOf(fingerprint, windowOpenedAtMs), doc);
  }

  /** Merges the analysis into the incident's document (creating it if the alert's write has not landed yet). */
  async recordAnalysis(fingerprint: string, windowOpenedAtMs: number, analysis: IncidentAnalysis, analyzedAtMs: number = Date.now()): Promise<void> {
    const doc = {
      '@timestamp': iso(windowOpenedAtMs),
      fingerprint,
      analysis: {
        analyzer: analysis.analyzer,
        ...(analysis.likelyCause === undefined ? {} : { likelyCause: analysis.likelyCause }),
        ...(analysis.remediation === undefined ? {} : { remediation: [...analysis.remediation] }),
        ...(analysis.confidence === undefined ? {} : { confidence: analysis.confidence }),
        similarFingerprints: analysis.similarIncidents.map((s) => s.fingerprint),
        runbooks: analysis.runbooks.map((r) => r.source),
        analyzedAt: iso(analyzedAtMs),
      },
    };
    await this.update(IncidentIndexWriter.idOf(fingerprint, windowOpenedAtMs), doc);
  }

  private async update(id: string, doc: Record<string, unknown>): Promise<void> {
    try {
      // retry_on_conflict: the alert and its analysis may be written at the same moment.
      await this.client.update({ index: this.index, id, retry_on_conflict: 3, body: { doc, doc_as_upsert: true } });
    } catch (error) {
      const failure = classifyRequestError(error);
      throw new SinkError(failure.retriable ? 'sink_unavailable' : 'sink_rejected', 'opensearch-incidents', `incident ${id}: ${failure.reason}`, failure.retriable, { cause: error });
    }
  }
}
