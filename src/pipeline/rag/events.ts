/**
 * The RAG event catalogue: what metrics and logs listen to. RAG code emits,
 * knows nothing of listeners (no prom-client here). Payloads carry no
 * fingerprints, texts, URLs or keys: every field is safe as a metric label
 * or a log field. One event per external call or analysis, never per token.
 */
import { EventEmitter } from 'node:events';

/** Which external operation: the metric label `call`. */
export type RagCall = 'embedding' | 'chat' | 'vector_search' | 'vector_upsert';

/** Error classes, a small fixed set (metric label `error`). */
export type RagErrorKind = 'timeout' | 'rate_limited' | 'server' | 'client' | 'connection' | 'malformed' | 'aborted';

/** Why an external call was not made. */
export type RagSkipReason = 'circuit_open' | 'spend_cap' | 'external_disabled';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface RagEvents {
  /** One external call finished (after its retries): `ok` or the final error. `items` is the batch size. */
  'rag.request': [{ call: RagCall; provider: string; outcome: 'ok' | 'error'; latencyMs: number; items: number; attempts: number }];
  /** One attempt failed; `retriable` says whether another attempt follows. */
  'rag.error': [{ call: RagCall; provider: string; error: RagErrorKind; retriable: boolean }];
  /** A call was not made. */
  'rag.skipped': [{ call: RagCall; reason: RagSkipReason }];
  /** Tokens of one call: the API's usage when it reported one, else an estimate (characters / 4); its cost at CALI_RAG_USD_PER_MILLION_TOKENS. */
  'rag.tokens': [{ call: RagCall; model: string; promptTokens: number; completionTokens: number; estimated: boolean; estimatedUsd: number }];
  /** After every metered call: tokens in the last hour against the cap, and their estimated cost. */
  'rag.spend': [{ tokensLastHour: number; capTokensPerHour: number; estimatedUsdLastHour: number }];
  'rag.circuit': [{ call: RagCall; state: CircuitState }];
  /** The analysis cache answered (hit) or had to start an analysis (miss). */
  'rag.cache': [{ hit: boolean }];
  /** An analysis finished: which analyzer, how long, what it found; `degraded` when the LLM step failed or was skipped. */
  'rag.analysis': [{ analyzer: 'retrieval' | 'llm'; latencyMs: number; similarIncidents: number; runbooks: number; degraded: boolean; empty: boolean }];
  /** Embedding requests merged into one call by the coalescing window. */
  'rag.batch': [{ call: 'embedding'; inputs: number; waitedMs: number }];
  /** The knowledge base stored something (an analysed incident, runbook chunks, a resolution). */
  'rag.kb.stored': [{ kind: 'incident' | 'runbook' | 'resolution'; count: number }];
}

export class RagEventBus extends EventEmitter<RagEvents> {}
