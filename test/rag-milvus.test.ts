/**
 * The Milvus adapter with the SDK's real gRPC requests against a stand-in
 * (test/support/milvus-server.ts), and against a real Milvus when
 * MILVUS_ADDRESS is set (skipped otherwise).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalEmbedder } from '../src/pipeline/rag/embedder.js';
import { RagEventBus } from '../src/pipeline/rag/events.js';
import { KnowledgeBase } from '../src/pipeline/rag/knowledge-base.js';
import { filterExpression, MilvusVectorStore } from '../src/pipeline/rag/milvus-store.js';
import type { VectorItem } from '../src/pipeline/rag/vector-store.js';
import { Redactor } from '../src/pipeline/redaction.js';
import { MilvusStandIn } from './support/milvus-server.js';
import { scenarioCandidates } from './support/rag.js';

const embedder = new LocalEmbedder({ dimension: 64 });
const spec = { modelId: embedder.modelId, dimension: embedder.dimension };

function item(id: string, text: string, service: string, timeMs: number, kind: 'incident' | 'runbook' = 'incident'): VectorItem {
  return { id, vector: embedder.embedOne(text), metadata: { kind, service, timeMs, source: id, payload: JSON.stringify({ text }) } };
}

/** The adapter's contract, run against the stand-in and against a real Milvus. */
function contract(address: () => string, name: () => string): void {
  let store: MilvusVectorStore;
  beforeEach(() => {
    store = new MilvusVectorStore({ address: address(), timeoutMs: 10_000 });
  });
  afterEach(async () => {
    await store.close();
  });

  it('upserts, searches by cosine with service and time filters, gets by id, deletes by filter, counts', async () => {
    const collection = await store.open(name(), spec);
    await collection.upsert([
      item('a', 'HikariPool connection is not available request timed out', 'order-service', 1000),
      item('b', 'HikariPool connection is not available request timed out', 'payment-service', 2000),
      item('c', 'deadlock detected while reserving stock', 'inventory-service', 3000),
      item('r', 'runbook: connection pool exhausted', '', 4000, 'runbook'),
    ]);
    expect(await collection.count()).toBe(4);
    const query = embedder.embedOne('HikariPool connection is not available');
    const all = await collection.search(query, 2, { kind: 'incident' });
    expect(all.map((h) => h.id).sort()).toEqual(['a', 'b']);
    expect(all[0]!.score).toBeGreaterThan(0.5);
    expect((await collection.search(query, 5, { kind: 'incident', service: 'payment-service' })).map((h) => h.id)).toEqual(['b']);
    expect((await collection.search(query, 5, { kind: 'incident', sinceMs: 1500, untilMs: 2500 })).map((h) => h.id)).toEqual(['b']);
    const got = await collection.get('c');
    expect(got?.metadata).toMatchObject({ kind: 'incident', service: 'inventory-service', timeMs: 3000 });
    expect(got?.vector.length).toBe(64);
    expect(await collection.get('missing')).toBeUndefined();
    await collection.delete({ kind: 'runbook', source: 'r' });
    expect(await collection.count()).toBe(3);
  });

  it('refuses to open the collection with another embedding model', async () => {
    await store.open(name(), spec);
    await expect(store.open(name(), { modelId: 'openai:text-embedding-3-small:64', dimension: 64 })).rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH' });
    await expect(store.open(name(), { modelId: spec.modelId, dimension: 128 })).rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH' });
  });

  it('serves the knowledge base: an analysed incident is found again for a new occurrence, with its resolution', async () => {
    const redactor = new Redactor();
    const kb = new KnowledgeBase({ collection: await store.open(name(), spec), embedder, redactor, events: new RagEventBus() });
    const [past, , , next] = scenarioCandidates(1, 4).filter((c) => c.scenario === 'db-deadlock');
    const { incidentText } = await import('../src/pipeline/rag/knowledge-base.js');
    const [vector] = await embedder.embed([incidentText(past!.candidate, redactor)]);
    await kb.recordIncident(past!.candidate, vector!, undefined);
    expect(await kb.resolve(past!.candidate.fingerprint, 'sorted SKUs before locking; password=hunter2')).toBe(true);
    const [query] = await embedder.embed([incidentText(next!.candidate, redactor)]);
    const similar = await kb.similarIncidents(query!, 3, 0.5);
    expect(similar[0]).toMatchObject({ fingerprint: past!.candidate.fingerprint, resolution: 'sorted SKUs before locking; password=[REDACTED:secret]' });
  });
}

describe('Milvus adapter against a gRPC stand-in loading the SDK\'s protos', () => {
  let milvus: MilvusStandIn;
  let address = '';
  let counter = 0;
  beforeEach(async () => {
    milvus = new MilvusStandIn();
    address = await milvus.start();
    counter++;
  });
  afterEach(async () => {
    await milvus.stop();
  });

  contract(() => address, () => `cali_test_${counter}`);

  it('creates a FLOAT_VECTOR collection with an HNSW/COSINE index, the model id and the metadata fields, and loads it', async () => {
    const store = new MilvusVectorStore({ address, timeoutMs: 5000 });
    await store.open('cali_kb', spec);
    await store.close();
    const schema = milvus.collections.get('cali_kb')!.schema;
    expect(schema.description).toContain(`cali-embedding-model=${spec.modelId}`);
    const fields = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
    expect(fields.id).toMatchObject({ data_type: 'VarChar', is_primary_key: true });
    expect(fields.vector).toMatchObject({ data_type: 'FloatVector', type_params: expect.arrayContaining([{ key: 'dim', value: '64' }]) });
    expect(fields.time_ms?.data_type).toBe('Int64');
    for (const name of ['kind', 'service', 'source', 'payload']) expect(fields[name]?.data_type).toBe('VarChar');
    const index = milvus.methods('CreateIndex')[0]!.request;
    const params = Object.fromEntries((index.extra_params as { key: string; value: string }[]).map((p) => [p.key, p.value]));
    expect(index.field_name).toBe('vector');
    expect(params).toMatchObject({ index_type: 'HNSW', metric_type: 'COSINE' });
    expect(JSON.parse(params.params!)).toEqual({ M: 16, efConstruction: 200 });
    expect(milvus.methods('LoadCollection')).toHaveLength(1);
  });

  it('sends the filter as a Milvus expression and asks for COSINE with ef', async () => {
    const store = new MilvusVectorStore({ address, timeoutMs: 5000, ef: 80 });
    const collection = await store.open('cali_kb', spec);
    await collection.upsert([item('a', 'x y z', 'svc "quoted"', 5)]);
    await collection.search(embedder.embedOne('x'), 3, { kind: 'incident', service: 'svc "quoted"', sinceMs: 1 });
    await store.close();
    const search = milvus.methods('Search')[0]!.request;
    expect(search.dsl).toBe('kind == "incident" && service == "svc \\"quoted\\"" && time_ms >= 1');
    const params = Object.fromEntries((search.search_params as { key: string; value: string }[]).map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ anns_field: 'vector', metric_type: 'COSINE', topk: '3' });
    expect(JSON.parse(params.params!)).toMatchObject({ ef: 80 });
  });

  it('sends no telemetry', async () => {
    const store = new MilvusVectorStore({ address, timeoutMs: 5000 });
    const collection = await store.open('cali_kb', spec);
    await collection.upsert([item('a', 'x', 's', 1)]);
    await collection.search(embedder.embedOne('x'), 1);
    await store.close();
    expect(milvus.calls.filter((c) => c.service === 'ClientTelemetryService')).toEqual([]);
    expect(milvus.calls.map((c) => c.method)).not.toContain('GetVersion');
  });

  it('a Milvus error becomes CALI_ERR_VECTOR_STORE naming the call', async () => {
    milvus.failures.set('Search', 'collection not loaded');
    const store = new MilvusVectorStore({ address, timeoutMs: 5000 });
    const collection = await store.open('cali_kb', spec);
    await expect(collection.search(embedder.embedOne('x'), 1)).rejects.toMatchObject({ code: 'CALI_ERR_VECTOR_STORE', message: expect.stringContaining('Search') });
    await store.close();
  });

  it('an unreachable Milvus fails with the address and the fix, not a hang', async () => {
    await milvus.stop();
    const store = new MilvusVectorStore({ address, timeoutMs: 1500 });
    await expect(store.open('cali_kb', spec)).rejects.toMatchObject({ code: 'CALI_ERR_VECTOR_STORE', message: expect.stringContaining(`Milvus at ${address}`) });
    await store.close();
  });

  it('builds filter expressions only from the filter fields', () => {
    expect(filterExpression(undefined)).toBe('');
    expect(filterExpression({ kind: 'runbook', source: 'a/b.md', untilMs: 9.7 })).toBe('kind == "runbook" && source == "a/b.md" && time_ms <= 9');
  });
});

const MILVUS_ADDRESS = process.env.MILVUS_ADDRESS;

describe.skipIf(!MILVUS_ADDRESS)(`Milvus adapter against a real Milvus (MILVUS_ADDRESS${MILVUS_ADDRESS ? `=${MILVUS_ADDRESS}` : ' not set: skipped'})`, () => {
  const name = `cali_test_${process.pid}_${Date.now()}`;
  let n = 0;
  afterEach(async () => {
    const store = new MilvusVectorStore({ address: MILVUS_ADDRESS!, timeoutMs: 10_000 });
    await store.client.dropCollection({ collection_name: `${name}_${n}` });
    await store.close();
  });
  contract(() => MILVUS_ADDRESS!, () => `${name}_${++n}`);
});
