/**
 * The OpenAI path against a real HTTP server on loopback speaking the API,
 * through the official `openai` client: batching, caching, the alert budget,
 * timeouts, retries honouring the rate-limit headers, the circuit breaker,
 * the spend cap, malformed answers and redaction.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRagConfig } from '../src/config/rag-config.js';
import type { IncidentAnalyzer } from '../src/pipeline/rag/analysis.js';
import { createIncidentAnalyzer, openKnowledgeBase } from '../src/pipeline/rag/create.js';
import { RagEventBus, type RagEvents } from '../src/pipeline/rag/events.js';
import { Redactor } from '../src/pipeline/redaction.js';
import type { IncidentCandidate } from '../src/workers/protocol.js';
import { OpenAIStandIn } from './support/openai-server.js';

const API_KEY = 'sk-test-0123456789abcdefghijklmnop';

function candidate(i: number, message = `Order ${i} failed: pool timeout`): IncidentCandidate {
  return {
    fingerprint: i.toString(16).padStart(16, '0'),
    kind: 'message',
    template: `Order <*> failed: pool timeout (variant ${i})`,
    service: 'order-service',
    levelClass: 'error',
    count: 1,
    firstSeenMs: Date.UTC(2026, 10, 3) + i,
    lastSeenMs: Date.UTC(2026, 10, 3) + i,
    pods: ['order-service-abc-1'],
    sample: { message, exception: 'java.sql.SQLTransientConnectionException', sequenceNumber: '1', subSequenceNumber: 0 },
  };
}

type Recorded = { [K in keyof RagEvents]: RagEvents[K][0][] };

let server: OpenAIStandIn;
let baseUrl: string;
let dir: string;
let analyzer: IncidentAnalyzer | undefined;
let events: RagEventBus;
let seen: Recorded;

beforeEach(async () => {
  server = new OpenAIStandIn();
  baseUrl = await server.start();
  dir = await mkdtemp(join(tmpdir(), 'cali-rag-'));
  events = new RagEventBus();
  seen = {} as Recorded;
  for (const name of ['rag.request', 'rag.error', 'rag.skipped', 'rag.tokens', 'rag.spend', 'rag.circuit', 'rag.cache', 'rag.analysis', 'rag.batch', 'rag.kb.stored'] as const) {
    (seen as Record<string, unknown[]>)[name] = [];
    (events as unknown as { on(event: string, listener: (payload: unknown) => void): void })
      .on(name, (payload) => { (seen as Record<string, unknown[]>)[name]!.push(payload); });
  }
});

afterEach(async () => {
  await analyzer?.close();
  analyzer = undefined;
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: baseUrl,
    CALI_RAG_DIR: dir,
    CALI_RAG_EMBEDDER: 'openai',
    CALI_RAG_ANALYZER: 'llm',
    CALI_RAG_EMBEDDING_DIMENSIONS: '64',
    CALI_RAG_CALL_TIMEOUT_MS: '2000',
    CALI_RAG_MIN_INCIDENT_SIMILARITY: '0.1',
    CALI_RAG_MIN_RUNBOOK_SIMILARITY: '0.05',
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<IncidentAnalyzer> {
  analyzer = await createIncidentAnalyzer(loadRagConfig(env(extra)), { redactor: new Redactor(), events });
  return analyzer;
}

describe('embeddings', () => {
  it('coalesces 12 incidents opened together into one embeddings call with 12 inputs and the configured dimensions', async () => {
    const rag = await start({ CALI_RAG_ANALYZER: 'retrieval' });
    await Promise.all(Array.from({ length: 12 }, (_, i) => rag.analyze(candidate(i))));
    const calls = server.calls('embeddings');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body.input).toHaveLength(12);
    expect(calls[0]!.body.dimensions).toBe(64);
    expect(calls[0]!.body.model).toBe('text-embedding-3-small');
    expect(seen['rag.batch']).toEqual([expect.objectContaining({ inputs: 12 })]);
    // A later window is a second call.
    await Promise.all([rag.analyze(candidate(100)), rag.analyze(candidate(101))]);
    expect(server.calls('embeddings')).toHaveLength(2);
    expect(server.calls('embeddings')[1]!.body.input).toHaveLength(2);
  });

  it('with a zero window, every analysis is its own call', async () => {
    const rag = await start({ CALI_RAG_ANALYZER: 'retrieval', CALI_RAG_COALESCE_MS: '0' });
    await Promise.all(Array.from({ length: 3 }, (_, i) => rag.analyze(candidate(i))));
    expect(server.calls('embeddings')).toHaveLength(3);
  });

  it('stores the model with the collection and refuses another one', async () => {
    const rag = await start({ CALI_RAG_ANALYZER: 'retrieval' });
    await rag.analyze(candidate(1));
    await rag.close();
    analyzer = undefined;
    await expect(createIncidentAnalyzer(loadRagConfig(env({ CALI_RAG_EMBEDDING_DIMENSIONS: '128' })), { redactor: new Redactor(), events }))
      .rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH', message: expect.stringContaining('openai:text-embedding-3-small:64') });
    await expect(createIncidentAnalyzer(loadRagConfig(env({ CALI_RAG_EMBEDDER: 'local', CALI_RAG_EMBEDDING_DIMENSIONS: '64' })), { redactor: new Redactor(), events }))
      .rejects.toMatchObject({ code: 'CALI_ERR_RAG_MODEL_MISMATCH' });
  });
});

describe('chat analysis', () => {
  it('asks for a strict json_schema answer and keeps only the retrieved items the model says it used', async () => {
    const opened = await openKnowledgeBase(loadRagConfig(env()), { redactor: new Redactor(), events });
    await opened.knowledgeBase.ingestRunbook('db-pool.md', '# DB pool\n\n## Symptoms\n\nOrder failed: pool timeout, SQLTransientConnectionException.\n');
    await opened.close();
    const rag = await start();
    const analysis = await rag.analyze(candidate(1));
    const chat = server.calls('chat');
    expect(chat).toHaveLength(1);
    const format = chat[0]!.body.response_format as { type: string; json_schema: { strict: boolean; schema: { required: string[] } } };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.schema.required).toEqual(['likely_cause', 'remediation', 'confidence', 'used_items']);
    expect(JSON.stringify(chat[0]!.body.messages)).toContain('[R1] runbook db-pool.md / DB pool > Symptoms');
    expect(analysis).toMatchObject({
      analyzer: 'llm',
      likelyCause: 'The connection pool is exhausted by long transactions.',
      remediation: ['Scale the service out', 'Kill idle-in-transaction sessions'],
      confidence: 'medium',
      runbooks: [expect.objectContaining({ source: 'db-pool.md' })],
      similarIncidents: [],
    });
    expect(seen['rag.tokens']).toContainEqual({ call: 'chat', model: 'gpt-4o-mini', promptTokens: 400, completionTokens: 60, estimated: false, estimatedUsd: (460 * 0.6) / 1e6 });
  });

  it('caches per fingerprint: a second alert for it makes no call', async () => {
    const rag = await start();
    const first = await rag.analyze(candidate(7));
    const second = await rag.analyze(candidate(7));
    expect(second).toBe(first);
    expect(server.calls('chat')).toHaveLength(1);
    expect(server.calls('embeddings')).toHaveLength(1);
    expect(seen['rag.cache'].map((e) => e.hit)).toEqual([false, true]);
  });

  it('concurrent calls for one fingerprint share one analysis', async () => {
    const rag = await start();
    const results = await Promise.all([rag.analyze(candidate(3)), rag.analyze(candidate(3)), rag.analyze(candidate(3))]);
    expect(new Set(results).size).toBe(1);
    expect(server.calls('chat')).toHaveLength(1);
  });

  it('the caller stops waiting at its budget; the analysis follows and is cached for the update', async () => {
    server.queue('chat', { delayMs: 800 });
    const rag = await start();
    const budget = AbortSignal.timeout(150);
    await expect(rag.analyze(candidate(1), budget)).rejects.toMatchObject({ name: 'TimeoutError' });
    const later = await rag.analyze(candidate(1));
    expect(later?.analyzer).toBe('llm');
    expect(server.calls('chat')).toHaveLength(1);
  });

  it('a slow answer times out, is retried, and the retrieval result stands when every attempt times out', async () => {
    server.defaults.chat = { delayMs: 1500 };
    const rag = await start({ CALI_RAG_CALL_TIMEOUT_MS: '200', CALI_RAG_MAX_ATTEMPTS: '2' });
    const analysis = await rag.analyze(candidate(1));
    expect(server.calls('chat')).toHaveLength(2);
    expect(seen['rag.error'].filter((e) => e.call === 'chat')).toEqual([
      { call: 'chat', provider: 'openai', error: 'timeout', retriable: true },
      { call: 'chat', provider: 'openai', error: 'timeout', retriable: false },
    ]);
    // Empty knowledge base and no LLM answer: nothing to show.
    expect(analysis).toBeUndefined();
    expect(seen['rag.analysis'].at(-1)).toMatchObject({ analyzer: 'retrieval', degraded: true });
  });

  it('429 with retry-after-ms: waits as told, then succeeds', async () => {
    server.queue('chat', { status: 429, headers: { 'retry-after-ms': '400', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '400ms' } });
    const rag = await start();
    const analysis = await rag.analyze(candidate(1));
    const chat = server.calls('chat');
    expect(chat).toHaveLength(2);
    expect(chat[1]!.atMs - chat[0]!.atMs).toBeGreaterThanOrEqual(380);
    expect(analysis?.analyzer).toBe('llm');
    expect(seen['rag.error']).toContainEqual({ call: 'chat', provider: 'openai', error: 'rate_limited', retriable: true });
  });

  it('x-ratelimit-remaining-requests: 0 holds the next call until the reset time', async () => {
    server.queue('chat', { headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '500ms' } });
    const rag = await start();
    await rag.analyze(candidate(1));
    await rag.analyze(candidate(2));
    const chat = server.calls('chat');
    expect(chat).toHaveLength(2);
    expect(chat[1]!.atMs - chat[0]!.atMs).toBeGreaterThanOrEqual(450);
  });

  it('500s open the circuit: further incidents make no chat call until the cool-down, then one trial closes it', async () => {
    server.defaults.chat = { status: 500 };
    const rag = await start({ CALI_RAG_MAX_ATTEMPTS: '1', CALI_RAG_BREAKER_FAILURES: '2', CALI_RAG_BREAKER_COOLDOWN_MS: '2000', CALI_RAG_COALESCE_MS: '0' });
    await rag.analyze(candidate(1));
    await rag.analyze(candidate(2));
    expect(server.calls('chat')).toHaveLength(2);
    expect(seen['rag.circuit']).toEqual([{ call: 'chat', state: 'open' }]);
    for (let i = 3; i < 8; i++) await rag.analyze(candidate(i));
    expect(server.calls('chat')).toHaveLength(2);
    expect(seen['rag.skipped'].filter((e) => e.reason === 'circuit_open')).toHaveLength(5);
    // Embeddings have their own circuit and kept working.
    expect(server.calls('embeddings').length).toBeGreaterThanOrEqual(7);
    delete server.defaults.chat;
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const analysis = await rag.analyze(candidate(20));
    expect(analysis?.analyzer).toBe('llm');
    expect(seen['rag.circuit'].map((e) => e.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('a malformed answer (not JSON, or off-schema) is an error, never shown; the retrieval result stands', async () => {
    const opened = await openKnowledgeBase(loadRagConfig(env()), { redactor: new Redactor(), events });
    await opened.knowledgeBase.ingestRunbook('db-pool.md', '# DB pool\n\nOrder failed: pool timeout.\n');
    await opened.close();
    server.chatAnswer = '{"likely_cause": "truncated';
    const rag = await start({ CALI_RAG_MAX_ATTEMPTS: '1' });
    const first = await rag.analyze(candidate(1));
    expect(first).toMatchObject({ analyzer: 'retrieval', runbooks: [expect.objectContaining({ source: 'db-pool.md' })] });
    expect(first?.likelyCause).toBeUndefined();
    server.chatAnswer = { likely_cause: 'x', remediation: 'not a list', confidence: 'certain', used_items: [] };
    const second = await rag.analyze(candidate(2));
    expect(second?.analyzer).toBe('retrieval');
    expect(seen['rag.error'].filter((e) => e.error === 'malformed')).toHaveLength(2);
  });

  it('the hourly spend cap stops LLM calls and reports the spend', async () => {
    server.chatUsage = { prompt_tokens: 900, completion_tokens: 100 };
    const rag = await start({ CALI_RAG_SPEND_CAP_TOKENS_PER_HOUR: '2000', CALI_RAG_MAX_COMPLETION_TOKENS: '100' });
    expect((await rag.analyze(candidate(1)))?.analyzer).toBe('llm');
    await rag.analyze(candidate(2));
    const chatCalls = server.calls('chat').length;
    await rag.analyze(candidate(3));
    await rag.analyze(candidate(4));
    expect(server.calls('chat')).toHaveLength(chatCalls);
    expect(chatCalls).toBeLessThanOrEqual(2);
    expect(seen['rag.skipped']).toContainEqual({ call: 'chat', reason: 'spend_cap' });
    const spend = seen['rag.spend'].at(-1)!;
    expect(spend.capTokensPerHour).toBe(2000);
    expect(spend.tokensLastHour).toBeGreaterThanOrEqual(1000);
    expect(spend.estimatedUsdLastHour).toBeGreaterThan(0);
  });

  it('a cap of 0 makes no chat call at all', async () => {
    const rag = await start({ CALI_RAG_SPEND_CAP_TOKENS_PER_HOUR: '0' });
    await rag.analyze(candidate(1));
    expect(server.calls('chat')).toHaveLength(0);
  });

  it('CALI_RAG_EXTERNAL_CALLS=off: the LLM analyzer makes no request (local embedder)', async () => {
    const rag = await start({ CALI_RAG_EMBEDDER: 'local', CALI_RAG_EXTERNAL_CALLS: 'off' });
    await rag.analyze(candidate(1));
    expect(server.requests).toHaveLength(0);
    expect(seen['rag.skipped']).toEqual([{ call: 'chat', reason: 'external_disabled' }]);
  });
});

describe('redaction', () => {
  it('no secret in an incident reaches the API, neither in embeddings nor in the prompt', async () => {
    const secrets = [
      'jane.doe@example.com',
      'hunter2-pa55',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'AKIAIOSFODNN7EXAMPLE',
      '4111 1111 1111 1111',
      'sk-proj-abcdefghijklmnopqrstuvwxyz012345',
    ];
    const rag = await start();
    const message = `Login failed for ${secrets[0]} password=${secrets[1]} token ${secrets[2]} key ${secrets[3]} card ${secrets[4]} openai ${secrets[5]}`;
    const incident = { ...candidate(1, message), template: `Login failed for ${secrets[0]} password=${secrets[1]}` };
    const analysis = await rag.analyze(incident);
    expect(server.calls('embeddings')).toHaveLength(1);
    expect(server.calls('chat')).toHaveLength(1);
    for (const request of server.requests) {
      for (const secret of secrets) expect(request.raw).not.toContain(secret);
    }
    const sent = server.calls('chat')[0]!.raw;
    expect(sent).toContain('[REDACTED:email]');
    expect(sent).toContain('[REDACTED:secret]');
    expect(sent).toContain('[REDACTED:jwt]');
    // What was stored is redacted too: a later prompt cannot leak it.
    expect(JSON.stringify(analysis)).not.toContain(secrets[0]);
  });
});
