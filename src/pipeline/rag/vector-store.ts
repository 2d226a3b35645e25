/**
 * The vector store seam: a collection of unit vectors with the metadata the
 * knowledge base filters on. Two implementations pass the same tests: an
 * embedded flat index in a local directory (flat-store.ts, the default) and
 * Milvus (milvus-store.ts).
 *
 * A collection is created for one embedding model and remembers its id and
 * dimension; opening it with another model is refused (CALI_ERR_RAG_MODEL_MISMATCH),
 * because vectors of two models in one index make every similarity wrong.
 */
import { CaliError } from '../../errors.js';

export type ItemKind = 'incident' | 'runbook';

export interface ItemMetadata {
  readonly kind: ItemKind;
  readonly service: string;
  /** Incident: when it was seen; runbook: when it was ingested. Epoch ms. */
  readonly timeMs: number;
  /** Incident: its fingerprint; runbook: its file. */
  readonly source: string;
  /** JSON: what the knowledge base shows (incident analysis, runbook passage). */
  readonly payload: string;
}

export interface VectorItem {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: ItemMetadata;
}

export interface SearchHit {
  readonly id: string;
  /** Cosine similarity, -1..1 (unit vectors). */
  readonly score: number;
  readonly metadata: ItemMetadata;
}

export interface SearchFilter {
  readonly kind?: ItemKind;
  readonly service?: string;
  readonly source?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
}

export interface VectorCollection {
  readonly name: string;
  readonly modelId: string;
  readonly dimension: number;
  /** Inserts or replaces by id. */
  upsert(items: readonly VectorItem[]): Promise<void>;
  /** Best `k` by cosine similarity among the items that pass the filter, best first. */
  search(vector: Float32Array, k: number, filter?: SearchFilter): Promise<SearchHit[]>;
  get(id: string): Promise<VectorItem | undefined>;
  /** Removes every item that passes the filter; returns how many (Milvus: how many it reported). */
  delete(filter: SearchFilter): Promise<number>;
  count(): Promise<number>;
}

export interface CollectionSpec {
  readonly modelId: string;
  readonly dimension: number;
}

export interface VectorStore {
  /** Opens or creates a collection; refuses a different model than the one it was built with. */
  open(name: string, spec: CollectionSpec): Promise<VectorCollection>;
  close(): Promise<void>;
}

export function modelMismatch(collection: string, stored: CollectionSpec, wanted: CollectionSpec): CaliError {
  return new CaliError(
    'CALI_ERR_RAG_MODEL_MISMATCH',
    `knowledge base collection "${collection}" holds vectors of ${stored.modelId} (${stored.dimension} dimensions), but the configured embedder is ${wanted.modelId} (${wanted.dimension} dimensions): ` +
      'set CALI_RAG_EMBEDDER/CALI_RAG_EMBEDDING_MODEL/CALI_RAG_EMBEDDING_DIMENSIONS back, or use a new CALI_RAG_COLLECTION and re-ingest the runbooks (vectors of two models cannot be compared)',
  );
}

export function matches(metadata: ItemMetadata, filter: SearchFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.kind !== undefined && metadata.kind !== filter.kind) return false;
  if (filter.service !== undefined && metadata.service !== filter.service) return false;
  if (filter.source !== undefined && metadata.source !== filter.source) return false;
  if (filter.sinceMs !== undefined && metadata.timeMs < filter.sinceMs) return false;
  if (filter.untilMs !== undefined && metadata.timeMs > filter.untilMs) return false;
  return true;
}
