/**
 * The embedded flat store, the local embedder, Markdown chunking, the rate
 * limit header parsing and the RAG configuration.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRagConfig, RAG_DEFAULTS } from '../src/config/rag-config.js';
import { LocalEmbedder } from '../src/pipeline/rag/embedder.js';
import { FlatVectorStore } from '../src/pipeline/rag/flat-store.js';
import { chunkMarkdown } from '../src/pipeline/rag/knowledge-base.js';
import { CircuitBreaker, parseResetDuration, RateLimiter, retryAfterMs, SpendMeter } from '../src/pipeline/rag/resilience.js';
import type { VectorItem } from '../src/pipeline/rag/vector-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cali-kb-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomUnit(dim: number, seed: number): Float32Array {
  let x = seed * 2654435761 >>> 0;
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    v[i] = x / 2 ** 32 - 0.5;
    norm += v[i]! * v[i]!;
  }
  return v.map((value) => value / Math.sqrt(norm));
}

function items(n: number, dim: number, offset = 0): VectorItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `item-${i + offset}`,
    vector: randomUnit(dim, i + offset + 1),
    metadata: { kind: i % 3 === 0 ? 'runbook' : 'incident', service: `svc-${i % 4}`, timeMs: i, source: `s${i}`, payload: `{"i":${i}}` },
  }) as VectorItem);
}

describe('flat vector store', () => {
  it('top-k equals a brute-force sort, with kind, service and time filters', async () => {
    const collection = await new FlatVectorStore(undefined).open('c', { modelId: 'm', dimension: 37 });
    const all = items(500, 37);
    collection.add(all);
    const query = randomUnit(37, 999);
    const dot = (v: Float32Array): number => v.reduce((sum, x, i) => sum + x * query[i]!, 0);
    for (const [k, filter] of [[10, undefined], [1, undefined], [7, { kind: 'incident' as const }], [5, { kind: 'runbook' as const, service: 'svc-0' }], [4, { sinceMs: 100, untilMs: 140 }]] as const) {
      const expected = all
        .filter((item) => (!filter || ((!('kind' in filter) || item.metadata.kind === filter.kind) && (!('service' in filter) || item.metadata.service === filter.service)
          && (!('sinceMs' in filter) || (item.metadata.timeMs >= filter.sinceMs && item.metadata.timeMs <= filter.untilMs)))))
        .map((item) => ({ id: item.id, score: dot(item.vector) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
      const hits = await collection.search(query, k, filter);
      expect(hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
      hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 5));
    }
    expect(await collection.search(query, 0)).toEqual([]);
  });

  it('persists: upserts and deletes survive a reopen; an id upserted again is replaced', async () => {
    const store = new FlatVectorStore(dir);
    const collection = await store.open('kb', { modelId: 'm', dimension: 8 });
    await collection.upsert(items(100, 8));
    await collection.upsert([{ ...items(1, 8, 5)[0]!, id: 'item-0', metadata: { kind: 'incident', service: 'new', timeMs: 1, source: 'x', payload: '{}' } }]);
    expect(await collection.delete({ kind: 'runbook' })).toBe(33);
    await store.close();
    const reopened = await new FlatVectorStore(dir).open('kb', { modelId: 'm', dimension: 8 });
    expect(await reopened.count()).toBe(67);
    expect((await reopened.get('item-0'))?.metadata.service).toBe('new');
    expect(Array.from((await reopened.get('item-0'))!.vector)).toEqual(Array.from(items(1, 8, 5)[0]!.vector));
    expect(await reopened.get('item-3')).toBeUndefined();
    const hits = await reopened.search(randomUnit(8, 2), 1);
    expect(hits[0]!.id).toBe('item-1');
  });

  it('writes atomically: no temporary file is left, and a damaged file is refused with the fix', async () => {
    const collection = await new FlatVectorStore(dir).open('kb', { modelId: 'm', dimension: 8 });
    await Promise.all([collection.upsert(items(10, 8)), collection.upsert(items(10, 8, 10)), collection.delete({ service: 'svc-1' })]);
    expect(await readdir(dir)).toEqual(['kb.kb']);
    const reopened = await new FlatVectorStore(dir).open('kb', { modelId: 'm', dimension: 8 });
    expect(await reopened.count()).toBe(await collection.count());
    const bytes = await readFile(join(dir, 'kb.kb'));
    await writeFile(join(dir, 'kb.kb'), bytes.subarray(0, bytes.length - 5));
    await expect(new FlatVectorStore(dir).open('kb', { modelId: 'm', dimension: 8 })).rejects.toMatchObject({ code: 'CALI_ERR_VECTOR_STORE', message: expect.stringContaining('re-ingest') });
  });

  it('refuses a second embedding model for a collection, in memory and on disk', async () => {
    const store = new FlatVectorStore(dir);
    await (await store.open('kb', { modelId: 'local-hash-v1:8', dimension: 8 })).upsert(items(1, 8));
    await expect(store.open('kb', { modelId: 'openai:x:8', dimension: 8 })).rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH' });
    await expect(new FlatVectorStore(dir).open('kb', { modelId: 'local-hash-v1:16', dimension: 16 }))
      .rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH', message: expect.stringContaining('holds vectors of local-hash-v1:8') });
    await expect(store.open('bad-name', { modelId: 'm', dimension: 8 })).rejects.toMatchObject({ code: 'CALI_ERR_CONFIG' });
  });
});

describe('local embedder', () => {
  const embedder = new LocalEmbedder({ dimension: 256 });

  it('is deterministic, unit length, and masks variable values', () => {
    const a = embedder.embedOne('Failed to place order ORD-2025-123456 for customer 42 after 3000 ms');
    const b = embedder.embedOne('Failed to place order ORD-2026-999999 for customer 77 after 12 ms');
    expect(Array.from(a)).toEqual(Array.from(embedder.embedOne('Failed to place order ORD-2025-123456 for customer 42 after 3000 ms')));
    expect(a.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 5);
    expect(a.reduce((s, x, i) => s + x * b[i]!, 0)).toBeGreaterThan(0.95);
    const other = embedder.embedOne('deadlock detected while reserving stock');
    expect(a.reduce((s, x, i) => s + x * other[i]!, 0)).toBeLessThan(0.3);
    expect(embedder.modelId).toBe('local-hash-v1:256');
  });

  it('relates identifiers to words (camelCase and dotted names are split)', () => {
    const frame = embedder.embedOne('com.zaxxer.hikari.pool.HikariPool.getConnection');
    const prose = embedder.embedOne('hikari pool get connection');
    expect(frame.reduce((s, x, i) => s + x * prose[i]!, 0)).toBeGreaterThan(0.4);
  });
});

describe('Markdown chunking', () => {
  it('splits at headings, titles chunks with the heading path and ignores # inside code fences', () => {
    const chunks = chunkMarkdown('# Pool\nintro\n## Symptoms\nslow\n```sh\n# not a heading\n```\n### Detail\ndeep\n## Fix\nscale out\n');
    expect(chunks).toEqual([
      { heading: 'Pool', text: 'intro' },
      { heading: 'Pool > Symptoms', text: 'slow\n```sh\n# not a heading\n```' },
      { heading: 'Pool > Symptoms > Detail', text: 'deep' },
      { heading: 'Pool > Fix', text: 'scale out' },
    ]);
  });

  it('cuts a long section into windows that overlap', () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkMarkdown(`# Long\n${words}`, { maxChars: 500, overlapChars: 100 });
    expect(chunks.length).toBeGreaterThan(5);
    for (let i = 1; i < chunks.length; i++) {
      const previousTail = chunks[i - 1]!.text.split(' ').slice(-3).join(' ');
      expect(chunks[i]!.text).toContain(previousTail);
      expect(chunks[i]!.text.length).toBeLessThanOrEqual(500);
    }
    expect(chunks.at(-1)!.text.endsWith('word399')).toBe(true);
  });
});

describe('rate limits, circuit, spend', () => {
  it('parses the reset durations and retry-after forms the API sends', () => {
    expect(parseResetDuration('6m0s')).toBe(360_000);
    expect(parseResetDuration('1.5s')).toBe(1500);
    expect(parseResetDuration('250ms')).toBe(250);
    expect(parseResetDuration('20')).toBe(20_000);
    expect(parseResetDuration('soon')).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '120', 'retry-after': '9' }))).toBe(120);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });

  it('the token bucket refills per minute and believes the headers', () => {
    let now = 0;
    const limiter = new RateLimiter({ requestsPerMinute: 2, tokensPerMinute: 1000, now: () => now });
    expect(limiter.reserve(100)).toBe(0);
    expect(limiter.reserve(100)).toBe(0);
    expect(limiter.reserve(100)).toBe(30_000);
    now = 30_000;
    expect(limiter.reserve(100)).toBe(0);
    expect(limiter.reserve(5000)).toBeGreaterThan(0);
    now = 120_000;
    limiter.observe(new Headers({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '7s' }));
    expect(limiter.reserve(1)).toBe(7000);
  });

  it('the circuit opens after N failures, allows one trial after the cool-down, and reopens if it fails', () => {
    let now = 0;
    const states: string[] = [];
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: () => now }, (s) => states.push(s));
    breaker.failure();
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.tryAcquire()).toBe(false);
    now = 1000;
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.failure();
    expect(breaker.tryAcquire()).toBe(false);
    now = 2000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(states).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('the spend meter forgets tokens older than an hour', () => {
    let now = 0;
    const meter = new SpendMeter({ capTokensPerHour: 1000, usdPerMillionTokens: 2, now: () => now });
    meter.record(800);
    expect(meter.wouldExceed(300)).toBe(true);
    now = 30 * 60_000;
    meter.record(100);
    expect(meter.tokensLastHour()).toBe(900);
    now = 61 * 60_000;
    expect(meter.tokensLastHour()).toBe(100);
    expect(meter.estimatedUsd(1_000_000)).toBe(2);
  });
});

describe('RAG configuration', () => {
  it('defaults make no external call', () => {
    const config = loadRagConfig({});
    expect(config).toMatchObject({ enabled: true, embedder: 'local', store: 'local', analyzer: 'retrieval', embeddingDimensions: 256, dir: RAG_DEFAULTS.dir });
    expect(Object.isFrozen(config)).toBe(true);
    expect(loadRagConfig({ CALI_RAG_EMBEDDER: 'openai', OPENAI_API_KEY: 'k' }).embeddingDimensions).toBe(512);
  });

  it.each([
    [{ CALI_RAG_EMBEDDER: 'bert' }, /^CALI_RAG_EMBEDDER is "bert": use local/],
    [{ CALI_RAG_ANALYZER: 'llm' }, /^OPENAI_API_KEY is not set .*: set OPENAI_API_KEY/],
    [{ CALI_RAG_STORE: 'milvus' }, /^MILVUS_ADDRESS is not set but CALI_RAG_STORE=milvus: set MILVUS_ADDRESS/],
    [{ CALI_RAG_MIN_INCIDENT_SIMILARITY: '1.5' }, /^CALI_RAG_MIN_INCIDENT_SIMILARITY is "1.5": use a number from 0 to 1/],
    [{ CALI_RAG_COLLECTION: 'my-kb' }, /^CALI_RAG_COLLECTION is "my-kb"/],
    [{ CALI_RAG_EXTERNAL_CALLS: 'maybe' }, /^CALI_RAG_EXTERNAL_CALLS is "maybe": use on or off/],
    [{ CALI_RAG_EMBEDDER: 'openai', OPENAI_API_KEY: 'k', CALI_RAG_EXTERNAL_CALLS: 'off' }, /^CALI_RAG_EMBEDDER is openai but CALI_RAG_EXTERNAL_CALLS is off/],
    [{ OPENAI_BASE_URL: 'api.openai.com' }, /^OPENAI_BASE_URL is not a URL/],
    [{ CALI_RAG_CALL_TIMEOUT_MS: '90000' }, /^CALI_RAG_ANALYSIS_TIMEOUT_MS \(60000\) is shorter than CALI_RAG_CALL_TIMEOUT_MS/],
  ])('%o fails with the setting and the fix', (env, message) => {
    expect(() => loadRagConfig(env)).toThrow(message);
    try {
      loadRagConfig(env);
    } catch (error) {
      expect(error).toMatchObject({ code: 'CALI_ERR_CONFIG' });
    }
  });

  it('off switches: CALI_RAG_ENABLED=off needs nothing else, external calls off keeps an LLM analyzer local', () => {
    expect(loadRagConfig({ CALI_RAG_ENABLED: 'off', CALI_RAG_STORE: 'milvus' }).enabled).toBe(false);
    expect(loadRagConfig({ CALI_RAG_ANALYZER: 'llm', CALI_RAG_EXTERNAL_CALLS: 'off' }).externalCalls).toBe(false);
  });
});
