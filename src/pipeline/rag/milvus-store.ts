/**
 * The Milvus vector store (`@zilliz/milvus2-sdk-node`, gRPC). One collection
 * per knowledge base: a VarChar primary key, a FLOAT_VECTOR field indexed
 * with HNSW and the COSINE metric, and scalar metadata fields that searches
 * filter on (kind, service, time). The embedding model id is written into the
 * collection's description and checked, with the vector dimension, on every
 * open. The SDK's client telemetry is disabled: nothing but our requests
 * leaves for the Milvus address. Errors come back as CALI_ERR_VECTOR_STORE
 * with the address (never the token) and the fix.
 */
import { DataType, ErrorCode, MilvusClient, type ClientConfig } from '@zilliz/milvus2-sdk-node';
import { CaliError } from '../../errors.js';
import type { RagEventBus } from './events.js';
import { checkCollectionName } from './flat-store.js';
import type { CollectionSpec, ItemKind, ItemMetadata, SearchFilter, SearchHit, VectorCollection, VectorItem, VectorStore } from './vector-store.js';
import { modelMismatch } from './vector-store.js';

const MODEL_TAG = 'cali-embedding-model=';
const OUTPUT_FIELDS = ['id', 'kind', 'service', 'time_ms', 'source', 'payload'];
/** Milvus VarChar limits: the payload holds a redacted analysis or runbook passage. */
const MAX = { id: 512, kind: 16, service: 256, source: 1024, payload: 65_535 } as const;

export interface MilvusStoreOptions {
  readonly address: string;
  readonly token?: string | undefined;
  /** Per-RPC deadline. */
  readonly timeoutMs: number;
  readonly events?: RagEventBus;
  /** HNSW search breadth; higher finds more of the true top-k, slower. */
  readonly ef?: number;
}

interface Status {
  readonly error_code?: string | number;
  readonly code?: number;
  readonly reason?: string;
}

export class MilvusVectorStore implements VectorStore {
  readonly #client: MilvusClient;

  constructor(private readonly options: MilvusStoreOptions) {
    const config: ClientConfig = {
      address: options.address,
      timeout: options.timeoutMs,
      maxRetries: 2,
      logLevel: 'error',
      telemetry: { enabled: false },
      ...(options.token !== undefined ? { token: options.token } : {}),
    };
    this.#client = new MilvusClient(config);
    // The constructor starts connecting; a failure surfaces on the first call, not as an unhandled rejection.
    this.#client.connectPromise.catch(() => {});
  }

  get client(): MilvusClient {
    return this.#client;
  }

  async #call<T>(what: string, fn: () => Promise<T>, call?: 'vector_search' | 'vector_upsert', items = 1): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      const status = statusOf(result);
      if (status && !isSuccess(status)) throw new CaliError('CALI_ERR_VECTOR_STORE', `Milvus ${what} failed: ${status.reason ?? String(status.error_code)}`);
      if (call) this.options.events?.emit('rag.request', { call, provider: 'milvus', outcome: 'ok', latencyMs: performance.now() - started, items, attempts: 1 });
      return result;
    } catch (error) {
      if (call) {
        this.options.events?.emit('rag.error', { call, provider: 'milvus', error: 'connection', retriable: false });
        this.options.events?.emit('rag.request', { call, provider: 'milvus', outcome: 'error', latencyMs: performance.now() - started, items, attempts: 1 });
      }
      if (error instanceof CaliError) throw error;
      const detail = error instanceof Error ? error.message : statusOf(error)?.reason ?? 'unknown error';
      throw new CaliError('CALI_ERR_VECTOR_STORE', `Milvus at ${this.options.address} ${what} failed (${detail}): check MILVUS_ADDRESS, that Milvus is up and reachable, and MILVUS_TOKEN`, { cause: error });
    }
  }

  async open(name: string, spec: CollectionSpec): Promise<VectorCollection> {
    checkCollectionName(name);
    const client = this.#client;
    const exists = await this.#call('HasCollection', () => client.hasCollection({ collection_name: name }));
    if (exists.value === true) {
      const described = await this.#call('DescribeCollection', () => client.describeCollection({ collection_name: name }));
      const vectorField = described.schema.fields.find((f) => f.name === 'vector');
      const dimension = Number(vectorField?.type_params?.find((p) => p.key === 'dim')?.value ?? (vectorField as { dim?: unknown } | undefined)?.dim);
      const description = described.schema.description ?? '';
      const at = description.indexOf(MODEL_TAG);
      if (at < 0 || !vectorField) {
        throw new CaliError('CALI_ERR_VECTOR_STORE', `Milvus collection "${name}" exists but was not created by CALI (no embedding model recorded): set CALI_RAG_COLLECTION to another name`);
      }
      const stored = { modelId: description.slice(at + MODEL_TAG.length).trim(), dimension };
      if (stored.modelId !== spec.modelId || stored.dimension !== spec.dimension) throw modelMismatch(name, stored, spec);
    } else {
      await this.#call('CreateCollection', () => client.createCollection({
        collection_name: name,
        description: `CALI knowledge base; ${MODEL_TAG}${spec.modelId}`,
        consistency_level: 'Strong',
        fields: [
          { name: 'id', data_type: DataType.VarChar, is_primary_key: true, autoID: false, max_length: MAX.id },
          { name: 'vector', data_type: DataType.FloatVector, dim: spec.dimension },
          { name: 'kind', data_type: DataType.VarChar, max_length: MAX.kind },
          { name: 'service', data_type: DataType.VarChar, max_length: MAX.service },
          { name: 'time_ms', data_type: DataType.Int64 },
          { name: 'source', data_type: DataType.VarChar, max_length: MAX.source },
          { name: 'payload', data_type: DataType.VarChar, max_length: MAX.payload },
        ],
      }));
      await this.#call('CreateIndex', () => client.createIndex({
        collection_name: name,
        field_name: 'vector',
        index_name: 'vector_hnsw',
        index_type: 'HNSW',
        metric_type: 'COSINE',
        params: { M: 16, efConstruction: 200 },
      }));
    }
    await this.#call('LoadCollection', () => client.loadCollection({ collection_name: name }));
    return new MilvusCollection(name, spec, this.options.ef ?? 64, (what, fn, call, items) => this.#call(what, fn, call, items), client);
  }

  async close(): Promise<void> {
    await this.#client.closeConnection();
  }
}

type Caller = <T>(what: string, fn: () => Promise<T>, call?: 'vector_search' | 'vector_upsert', items?: number) => Promise<T>;

/** A Milvus boolean expression for the filter; strings are quoted with JSON escapes. */
export function filterExpression(filter: SearchFilter | undefined): string {
  const parts: string[] = [];
  if (filter?.kind !== undefined) parts.push(`kind == ${JSON.stringify(filter.kind)}`);
  if (filter?.service !== undefined) parts.push(`service == ${JSON.stringify(filter.service)}`);
  if (filter?.source !== undefined) parts.push(`source == ${JSON.stringify(filter.source)}`);
  if (filter?.sinceMs !== undefined) parts.push(`time_ms >= ${Math.floor(filter.sinceMs)}`);
  if (filter?.untilMs !== undefined) parts.push(`time_ms <= ${Math.floor(filter.untilMs)}`);
  return parts.join(' && ');
}

class MilvusCollection implements VectorCollection {
  readonly modelId: string;
  readonly dimension: number;

  constructor(readonly name: string, spec: CollectionSpec, private readonly ef: number, private readonly call: Caller, private readonly client: MilvusClient) {
    this.modelId = spec.modelId;
    this.dimension = spec.dimension;
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    if (items.length === 0) return;
    const rows = items.map((item) => {
      if (item.vector.length !== this.dimension) throw new RangeError(`vector of ${item.id} has ${item.vector.length} dimensions; collection ${this.name} has ${this.dimension}`);
      if (item.metadata.payload.length > MAX.payload) throw new RangeError(`payload of ${item.id} is longer than ${MAX.payload} characters`);
      return {
        id: item.id.slice(0, MAX.id),
        vector: Array.from(item.vector),
        kind: item.metadata.kind,
        service: item.metadata.service.slice(0, MAX.service),
        time_ms: Math.floor(item.metadata.timeMs),
        source: item.metadata.source.slice(0, MAX.source),
        payload: item.metadata.payload,
      };
    });
    await this.call('Upsert', () => this.client.upsert({ collection_name: this.name, data: rows }), 'vector_upsert', rows.length);
  }

  async search(vector: Float32Array, k: number, filter?: SearchFilter): Promise<SearchHit[]> {
    if (k <= 0) return [];
    const expression = filterExpression(filter);
    const result = await this.call('Search', () => this.client.search({
      collection_name: this.name,
      data: [Array.from(vector)],
      anns_field: 'vector',
      limit: k,
      metric_type: 'COSINE',
      params: { ef: Math.max(this.ef, k) },
      output_fields: OUTPUT_FIELDS,
      ...(expression ? { filter: expression } : {}),
    }), 'vector_search');
    const rows = (result.results as unknown[]).flat() as Record<string, unknown>[];
    return rows.map((row) => ({ id: String(row.id), score: Number(row.score), metadata: metadataOf(row) }));
  }

  async get(id: string): Promise<VectorItem | undefined> {
    const result = await this.call('Query', () => this.client.query({
      collection_name: this.name,
      filter: `id == ${JSON.stringify(id)}`,
      output_fields: [...OUTPUT_FIELDS, 'vector'],
      limit: 1,
    }));
    const row = result.data[0] as Record<string, unknown> | undefined;
    if (!row) return undefined;
    return { id: String(row.id), vector: Float32Array.from(row.vector as number[]), metadata: metadataOf(row) };
  }

  async delete(filter: SearchFilter): Promise<number> {
    const expression = filterExpression(filter) || 'id != ""';
    const result = await this.call('Delete', () => this.client.delete({ collection_name: this.name, filter: expression }));
    return Number(result.delete_cnt ?? 0);
  }

  async count(): Promise<number> {
    const result = await this.call('Count', () => this.client.count({ collection_name: this.name }));
    return Number(result.data);
  }
}

function metadataOf(row: Record<string, unknown>): ItemMetadata {
  return {
    kind: String(row.kind) as ItemKind,
    service: String(row.service ?? ''),
    timeMs: Number(row.time_ms ?? 0),
    source: String(row.source ?? ''),
    payload: String(row.payload ?? '{}'),
  };
}

function statusOf(value: unknown): Status | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if ('status' in value && typeof value.status === 'object' && value.status !== null) return value.status as Status;
  if ('error_code' in value) return value as Status;
  return undefined;
}

function isSuccess(status: Status): boolean {
  return status.error_code === ErrorCode.SUCCESS || status.error_code === 0 || (status.error_code === undefined && (status.code ?? 0) === 0);
}
