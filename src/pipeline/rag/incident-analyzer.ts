/**
 * The analyzer alerting calls: retrieval (always), the LLM step (when
 * configured), storing the incident in the knowledge base, and a bounded
 * per-fingerprint cache with TTL in front of it all.
 *
 * An analysis runs to completion on its own clock (analysisTimeoutMs), not
 * the caller's: a caller whose budget runs out stops waiting (its promise
 * rejects with its signal's reason), the analysis finishes and lands in the
 * cache, and the next call for the fingerprint (the follow-up update) gets it
 * at once. Concurrent calls for one fingerprint share one analysis.
 */
import { LRUCache } from 'lru-cache';
import type { IncidentCandidate } from '../../workers/protocol.js';
import type { Redactor } from '../redaction.js';
import type { IncidentAnalysis, IncidentAnalyzer } from './analysis.js';
import type { Embedder } from './embedder.js';
import type { RagEventBus } from './events.js';
import { incidentText, type KnowledgeBase } from './knowledge-base.js';
import type { LlmAnalyzer } from './llm-analyzer.js';

export interface RagAnalyzerOptions {
  readonly knowledgeBase: KnowledgeBase;
  readonly embedder: Embedder;
  readonly redactor: Redactor;
  readonly events: RagEventBus;
  /** Absent: retrieval only. */
  readonly llm?: LlmAnalyzer | undefined;
  /** An LLM analyzer is configured but external calls are off: each analysis reports the skipped step. */
  readonly llmDisabled?: boolean;
  readonly similarIncidents: number;
  readonly runbookPassages: number;
  readonly minIncidentSimilarity: number;
  readonly minRunbookSimilarity: number;
  readonly cacheSize: number;
  readonly cacheTtlMs: number;
  /** A degraded or empty analysis (LLM failed or skipped, provider down, nothing found) is kept this long, so a recovery is seen soon. */
  readonly degradedTtlMs?: number;
  readonly analysisTimeoutMs: number;
  /** Runs when the analyzer closes (the store's connection). */
  readonly onClose?: () => Promise<void>;
}

interface Entry {
  readonly result: Promise<IncidentAnalysis | undefined>;
}

export class RagIncidentAnalyzer implements IncidentAnalyzer {
  readonly #cache: LRUCache<string, Entry>;
  readonly #shutdown = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(private readonly options: RagAnalyzerOptions) {
    this.#cache = new LRUCache<string, Entry>({ max: options.cacheSize, ttl: options.cacheTtlMs, updateAgeOnGet: false });
  }

  analyze(incident: IncidentCandidate, signal?: AbortSignal): Promise<IncidentAnalysis | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.resolve(undefined);
    let entry = this.#cache.get(incident.fingerprint);
    this.options.events.emit('rag.cache', { hit: entry !== undefined });
    if (!entry) {
      const run = this.#run(incident);
      const created: Entry = { result: run.then((outcome) => outcome.analysis) };
      entry = created;
      this.#cache.set(incident.fingerprint, created);
      const tracked = run.then((outcome) => {
        if (outcome.degraded && this.#cache.get(incident.fingerprint) === created) {
          this.#cache.set(incident.fingerprint, created, { ttl: this.options.degradedTtlMs ?? 60_000 });
        }
      });
      this.#inFlight.add(tracked);
      void tracked.finally(() => this.#inFlight.delete(tracked));
    }
    return signal ? raceAbort(entry.result, signal) : entry.result;
  }

  async #run(candidate: IncidentCandidate): Promise<{ analysis: IncidentAnalysis | undefined; degraded: boolean }> {
    const { knowledgeBase, embedder, redactor, events, llm } = this.options;
    const started = performance.now();
    const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.options.analysisTimeoutMs)]);
    try {
      const text = incidentText(candidate, redactor);
      const [vector] = await embedder.embed([text], signal);
      const [similarIncidents, runbooks] = await Promise.all([
        knowledgeBase.similarIncidents(vector!, this.options.similarIncidents, this.options.minIncidentSimilarity),
        knowledgeBase.runbookPassages(vector!, this.options.runbookPassages, this.options.minRunbookSimilarity),
      ]);
      let analysis: IncidentAnalysis = { analyzer: 'retrieval', similarIncidents, runbooks };
      let isDegraded = false;
      if (!llm && this.options.llmDisabled) events.emit('rag.skipped', { call: 'chat', reason: 'external_disabled' });
      if (llm) {
        try {
          analysis = await llm.analyze(text, analysis, signal);
        } catch {
          // Errors and skips are already events; the retrieval result stands.
          isDegraded = true;
        }
      }
      try {
        await knowledgeBase.recordIncident(candidate, vector!, analysis);
      } catch {
        isDegraded = true;
      }
      const empty = analysis.analyzer === 'retrieval' && similarIncidents.length === 0 && runbooks.length === 0;
      events.emit('rag.analysis', {
        analyzer: analysis.analyzer, latencyMs: performance.now() - started,
        similarIncidents: analysis.similarIncidents.length, runbooks: analysis.runbooks.length, degraded: isDegraded, empty,
      });
      // An empty answer is kept briefly too: runbooks ingested meanwhile should show at the next window.
      return { analysis: empty ? undefined : analysis, degraded: isDegraded || empty };
    } catch {
      // Embedding or search failed (provider down, circuit open, timeout): no analysis, alert goes out alone.
      events.emit('rag.analysis', { analyzer: 'retrieval', latencyMs: performance.now() - started, similarIncidents: 0, runbooks: 0, degraded: true, empty: true });
      return { analysis: undefined, degraded: true };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#shutdown.abort(new Error('analyzer closed'));
    await Promise.allSettled([...this.#inFlight]);
    this.#cache.clear();
    await this.options.onClose?.();
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
      (error: unknown) => { signal.removeEventListener('abort', onAbort); reject(error); },
    );
  });
}
