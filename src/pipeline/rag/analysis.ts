/**
 * The seam between alerting and RAG analysis. Alerting asks once per newly
 * opened fingerprint window (never for repeats) and waits at most its budget;
 * past that the alert goes out alone and the analysis follows as an update.
 * Everything in an analysis is already redacted and safe to post.
 */
import type { IncidentCandidate } from '../../workers/protocol.js';

export interface SimilarIncident {
  readonly fingerprint: string;
  readonly service: string;
  readonly template: string;
  readonly seenAtMs: number;
  /** Cosine similarity, 0..1. */
  readonly similarity: number;
  /** What an operator recorded with `cali kb resolve`, if anything. */
  readonly resolution?: string;
  readonly likelyCause?: string;
}

export interface RunbookPassage {
  /** File the passage came from, relative to the ingested root. */
  readonly source: string;
  readonly heading: string;
  readonly text: string;
  readonly similarity: number;
}

export interface IncidentAnalysis {
  /** Which analyzer produced it: operators must see when text is generated. */
  readonly analyzer: 'retrieval' | 'llm';
  readonly similarIncidents: readonly SimilarIncident[];
  readonly runbooks: readonly RunbookPassage[];
  /** Only from an LLM analyzer; absent rather than guessed. */
  readonly likelyCause?: string;
  readonly remediation?: readonly string[];
  readonly confidence?: 'low' | 'medium' | 'high';
}

export interface IncidentAnalyzer {
  /**
   * Resolves with the analysis, or undefined when there is nothing useful
   * (empty knowledge base, circuit open, spend cap reached). Rejects only on
   * abort. Never throws for a provider failure: alerting must not care.
   */
  analyze(incident: IncidentCandidate, signal?: AbortSignal): Promise<IncidentAnalysis | undefined>;
  close(): Promise<void>;
}
