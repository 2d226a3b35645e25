/**
 * The OpenSearch sink and the incidents writer against a loopback stand-in
 * that the official client really talks to (test/support/opensearch-standin.ts):
 * the template and ISM requests it sends at start-up, bulk bodies built from
 * the workers' real archive lines, batching by documents, bytes and age,
 * partial bulk failures (only 429/5xx items retried, mapping errors to the
 * real DLQ sink with the reason), idempotent ids, and what a failing cluster
 * does to write() and health. The last block runs against a real cluster
 * when OPENSEARCH_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORKER_SETTINGS } from '../src/main.js';
import { packBatch } from '../src/pipeline/pack.js';
import type { ArchiveChunk } from '../src/pipeline/sinks/archive/sink.js';
import { compileDlqSinkConfig } from '../src/pipeline/sinks/dlq/config.js';
import { readDeadLetters } from '../src/pipeline/sinks/dlq/reader.js';
import { DlqSink } from '../src/pipeline/sinks/dlq/sink.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { compileOpenSearchSinkConfig, type OpenSearchSinkConfigInput } from '../src/pipeline/sinks/opensearch/config.js';
import { IncidentIndexWriter } from '../src/pipeline/sinks/opensearch/incidents.js';
import { documentId } from '../src/pipeline/sinks/opensearch/request.js';
import { OpenSearchSink } from '../src/pipeline/sinks/opensearch/sink.js';
import { SinkError } from '../src/pipeline/sinks/sink.js';
import { LogSimulator, steppingClock } from '../src/simulator/generator.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';
import { OpenSearchStandIn, parseBulk } from './support/opensearch-standin.js';

const processBatch = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter());
const scratch = mkdtempSync(join(tmpdir(), 'cali-opensearch-'));
let sequence = 0;

/** Archive lines exactly as the workers write them, for `n` valid simulated events. */
function archiveChunk(n: number, shardId = 'shardId-000000000001', seed = 3): ArchiveChunk {
  const simulator = new LogSimulator({ seed, errorRatio: 0.3, invalidRatio: 0, clock: steppingClock(Date.parse('2026-11-29T23:59:59.500Z'), 200) });
  const records = Array.from({ length: n }, () => ({
    data: simulator.next().data, sequenceNumber: `4965${String(++sequence).padStart(20, '0')}`, partitionKey: 'k', approximateArrivalMs: 1_764_460_800_000,
  }));
  const result = processBatch(packBatch(shardId, records).task);
  expect(result.archiveLines).toBe(n);
  return { bytes: result.archive, lines: result.archiveLines };
}

let standIn: OpenSearchStandIn;
let dlqDir: string;
let dlq: DlqSink;
const sinks: OpenSearchSink[] = [];

function sink(options: Partial<OpenSearchSinkConfigInput> = {}): OpenSearchSink {
  const config = compileOpenSearchSinkConfig({ url: standIn.url, maxBulkAgeMs: 20, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 }, ...options });
  const created = OpenSearchSink.create(config, { dlq });
  sinks.push(created);
  return created;
}

beforeEach(async () => {
  standIn = await new OpenSearchStandIn().start();
  dlqDir = mkdtempSync(join(scratch, 'dlq-'));
  dlq = new DlqSink(compileDlqSinkConfig({ uri: dlqDir, maxObjectAgeMs: 10 }), { store: new LocalObjectStore(dlqDir), workerId: 'test' });
});

afterEach(async () => {
  await Promise.allSettled(sinks.splice(0).map((s) => s.close()));
  await dlq.close();
  await standIn.stop();
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('start-up installation', () => {
  it('installs the ISM policy and both index templates when missing, with keyword vs text mappings and retention', async () => {
    await sink({ retentionDays: 9, replicas: 0 }).setup();
    const writes = standIn.requests.filter((r) => r.method !== 'HEAD');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /_plugins/_ism/policies/cali-logs-retention',
      'POST /_index_template/cali-logs-template',
      'POST /_index_template/cali-incidents-template',
    ]);
    const policy = JSON.parse(writes[0]!.body) as { policy: { states: { name: string; actions: unknown[]; transitions: { conditions?: { min_index_age: string } }[] }[]; ism_template: { index_patterns: string[] }[] } };
    expect(policy.policy.states.map((s) => s.name)).toEqual(['hot', 'delete']);
    expect(policy.policy.states[0]!.transitions[0]!.conditions).toEqual({ min_index_age: '9d' });
    expect(policy.policy.states[1]!.actions).toEqual([{ delete: {} }]);
    expect(policy.policy.ism_template[0]!.index_patterns).toEqual(['cali-logs-*']);
    const template = JSON.parse(writes[1]!.body) as { index_patterns: string[]; template: { settings: Record<string, unknown>; mappings: { properties: Record<string, { type: string }> } } };
    expect(writes[1]!.query.get('create')).toBe('true');
    expect(template.index_patterns).toEqual(['cali-logs-*']);
    expect(template.template.settings.number_of_replicas).toBe(0);
    const p = template.template.mappings.properties;
    expect([p['@timestamp']?.type, p.log_content?.type, p.message?.type, p.service?.type, p.level?.type, p.trace_id?.type]).toEqual(['date', 'text', 'text', 'keyword', 'keyword', 'keyword']);
  });

  it('installs nothing that exists already (an operator\'s edits are kept), and another replica winning the race is fine', async () => {
    standIn.existing.add('/_plugins/_ism/policies/cali-logs-retention');
    standIn.existing.add('/_index_template/cali-logs-template');
    await sink().setup();
    expect(standIn.requests.filter((r) => r.method !== 'HEAD').map((r) => r.path)).toEqual(['/_index_template/cali-incidents-template']);
  });
});

describe('bulk indexing', () => {
  it('sends the workers\' archive lines as documents with @timestamp, a daily index and ids from (shard, sequence, sub-sequence)', async () => {
    const s = sink({ installTemplates: false });
    const chunk = archiveChunk(4);
    await s.write([chunk]);
    const [bulk] = standIn.bulkRequests();
    expect(bulk).toHaveLength(4);
    const lines = new TextDecoder().decode(chunk.bytes).trimEnd().split('\n').map((l) => JSON.parse(l) as { _cali: { shardId: string; sequenceNumber: string; subSequenceNumber: number; timestampMs: number } } & Record<string, unknown>);
    for (const [i, action] of bulk!.entries()) {
      const line = lines[i]!;
      const day = new Date(line._cali.timestampMs).toISOString().slice(0, 10).replaceAll('-', '.');
      expect(action.index).toBe(`cali-logs-${day}`);
      expect(action.id).toBe(documentId(line._cali.shardId, line._cali.sequenceNumber, line._cali.subSequenceNumber));
      expect(action.source).toEqual({ '@timestamp': new Date(line._cali.timestampMs).toISOString(), ...line });
    }
    // Events on both sides of midnight UTC go to their own day's index.
    expect(new Set(bulk!.map((a) => a.index))).toEqual(new Set(['cali-logs-2026.11.29', 'cali-logs-2026.11.30']));
    expect(standIn.requests.find((r) => r.path === '/_bulk')?.headers['content-encoding']).toBe('gzip');
  });

  it('a replayed batch writes the same ids: the index holds each record once', async () => {
    const s = sink({ installTemplates: false });
    sequence = 1_000;
    const first = archiveChunk(5, 'shardId-000000000002', 9);
    sequence = 1_000;
    const replay = archiveChunk(5, 'shardId-000000000002', 9);
    await s.write([first]);
    await s.write([replay]);
    expect(standIn.bulkRequests().flat()).toHaveLength(10);
    expect(standIn.documents.size).toBe(5);
  });

  it('closes a bulk request at maxBulkDocuments, at maxBulkBytes, and after maxBulkAgeMs', async () => {
    const byCount = sink({ installTemplates: false, maxBulkDocuments: 3, maxBulkAgeMs: 60_000 });
    const pending = byCount.write([archiveChunk(7)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(standIn.bulkRequests().map((b) => b.length)).toEqual([3, 3]);
    await byCount.flush();
    await pending;
    expect(standIn.bulkRequests().map((b) => b.length)).toEqual([3, 3, 1]);

    standIn.requests.length = 0;
    const chunk = archiveChunk(6);
    const perDocument = Math.ceil(chunk.bytes.byteLength / 6) + 200;
    await sink({ installTemplates: false, maxBulkBytes: perDocument * 2, maxBufferedBytes: perDocument * 100 }).write([chunk]);
    const sizes = standIn.bulkRequests().map((b) => b.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6);
    expect(sizes.length).toBeGreaterThanOrEqual(3);

    standIn.requests.length = 0;
    const byAge = sink({ installTemplates: false, maxBulkAgeMs: 30, maxBulkDocuments: 1000 });
    await byAge.write([archiveChunk(2)]);
    expect(standIn.bulkRequests().map((b) => b.length)).toEqual([2]);
  });

  it('retries only the 429 and 5xx items of a partial failure and dead-letters the mapping errors with the cluster\'s reason', async () => {
    const s = sink({ installTemplates: false });
    const events: string[] = [];
    s.events.on('bulk.completed', (e) => events.push(`${e.documents}: ${e.indexed} indexed, ${e.retried} retried, ${e.rejected} rejected`));
    standIn.itemStatus = (_action, attempt) => {
      const n = standIn.bulkRequests().at(-1)!.findIndex((a) => a.id === _action.id);
      if (attempt > 1) return 201;
      return [201, 429, 400, 503, 201, 201][n] ?? 201;
    };
    const chunk = archiveChunk(6);
    await s.write([chunk]);
    const bulks = standIn.bulkRequests();
    expect(bulks).toHaveLength(2);
    expect(bulks[1]!.map((a) => a.id)).toEqual([bulks[0]![1]!.id, bulks[0]![3]!.id]);
    expect(events).toEqual(['6: 3 indexed, 2 retried, 1 rejected', '2: 2 indexed, 0 retried, 0 rejected']);
    await dlq.flush();
    const letters = [];
    for await (const entry of readDeadLetters(new LocalObjectStore(dlqDir))) letters.push(entry.deadLetter);
    expect(letters).toHaveLength(1);
    const rejected = bulks[0]![2]!;
    expect(letters[0]!.reason).toEqual({ code: 'index_rejected', message: '400 mapper_parsing_exception: failed to parse field [level] of type [keyword]' });
    expect(documentId(letters[0]!.shardId, letters[0]!.sequenceNumber, letters[0]!.subSequenceNumber)).toBe(rejected.id);
    expect(JSON.parse(Buffer.from(letters[0]!.data).toString('utf8'))).toEqual(rejected.source);
    expect(standIn.documents.size).toBe(5);
    expect(s.health().healthy).toBe(true);
  });

  it('rejects write() with a retriable SinkError when items keep failing past maxAttempts', async () => {
    const s = sink({ installTemplates: false });
    standIn.itemStatus = () => 429;
    const error = await s.write([archiveChunk(2)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ code: 'sink_unavailable', retriable: true });
    expect(standIn.bulkRequests()).toHaveLength(3);
  });

  it('retries a whole request that failed with 503, and gives up at once on 401 (unhealthy, credentials never in the error)', async () => {
    const s = sink({ installTemplates: false });
    standIn.bulkStatuses.push(503);
    await s.write([archiveChunk(2)]);
    const [refused, retried] = standIn.bulkRequests();
    expect(retried!.map((a) => a.id)).toEqual(refused!.map((a) => a.id));
    expect(standIn.documents.size).toBe(2);

    const withCredentials = compileOpenSearchSinkConfig({ url: standIn.url.replace('http://', 'http://cali:s3cret@'), installTemplates: false, maxBulkAgeMs: 5, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 } });
    const guarded = OpenSearchSink.create(withCredentials, { dlq });
    sinks.push(guarded);
    standIn.bulkStatuses.push(401);
    const error = (await guarded.write([archiveChunk(1)]).catch((e: unknown) => e)) as SinkError;
    expect(error).toMatchObject({ code: 'sink_rejected', retriable: false });
    expect(error.message).toContain('HTTP 401 security_exception');
    expect(error.message).not.toContain('s3cret');
    expect(guarded.health()).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    expect(guarded.health().detail).not.toContain('s3cret');
    expect(standIn.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('cali:s3cret').toString('base64')}`);
  });

  it('when it does not gate the checkpoint, a full buffer refuses the write at once instead of waiting', async () => {
    const chunk = archiveChunk(3);
    const s = sink({ installTemplates: false, gatesCheckpoint: false, maxBulkBytes: 1024, maxBufferedBytes: 1024, maxBulkAgeMs: 60_000, maxBulkDocuments: 1000 });
    standIn.bulkStatuses.push(503, 503);
    const first = s.write([chunk]);
    await expect(s.write([chunk])).rejects.toMatchObject({ code: 'sink_unavailable', message: expect.stringContaining('buffer full') });
    await first;
  });

  it('retries the start-up installation before the first bulk when it had failed', async () => {
    const s = sink();
    await standIn.stop();
    await expect(s.setup()).rejects.toBeDefined();
    standIn = await new OpenSearchStandIn().start();
    const moved = OpenSearchSink.create(compileOpenSearchSinkConfig({ url: standIn.url, maxBulkAgeMs: 5 }), { dlq });
    sinks.push(moved);
    await moved.write([archiveChunk(1)]);
    expect(standIn.requests.filter((r) => r.method !== 'HEAD').map((r) => r.path)).toEqual([
      '/_plugins/_ism/policies/cali-logs-retention', '/_index_template/cali-logs-template', '/_index_template/cali-incidents-template', '/_bulk',
    ]);
  });
});

describe('incidents index', () => {
  it('writes one document per alert window and merges the analysis and the final count into it (upserts, stable id)', async () => {
    const client = new Client({ node: standIn.url, maxRetries: 0 });
    const writer = new IncidentIndexWriter(client, 'cali-incidents');
    const opened = Date.parse('2026-11-29T10:00:00Z');
    await writer.recordIncident({
      fingerprint: '72f1f265cb4cc8d3', windowOpenedAtMs: opened, service: 'payment-service', ruleId: 'errors', severity: 'high', kind: 'stack',
      levelClass: 'error', template: 'Payment <*> declined', message: 'Payment 42 declined', exception: 'java.lang.IllegalStateException', count: 3,
      firstSeenMs: opened, lastSeenMs: opened + 5_000, pods: ['payment-1'],
    });
    await writer.recordAnalysis('72f1f265cb4cc8d3', opened, {
      analyzer: 'llm', similarIncidents: [{ fingerprint: 'aa', service: 'payment-service', template: 't', seenAtMs: 1, similarity: 0.9 }],
      runbooks: [{ source: 'payments.md', heading: 'Declines', text: '...', similarity: 0.8 }], likelyCause: 'card processor down', confidence: 'medium',
    }, opened + 10_000);
    await writer.recordCount('72f1f265cb4cc8d3', opened, { count: 9, lastSeenMs: opened + 60_000, pods: ['payment-1', 'payment-2'] });
    await client.close();
    const updates = standIn.requests.filter((r) => r.path.includes('/_update/'));
    const id = IncidentIndexWriter.idOf('72f1f265cb4cc8d3', opened);
    expect(updates.map((r) => r.path)).toEqual(Array.from({ length: 3 }, () => `/cali-incidents/_update/${id}`));
    expect(updates.map((r) => (JSON.parse(r.body) as { doc_as_upsert: boolean }).doc_as_upsert)).toEqual([true, true, true]);
    expect(updates[0]!.query.get('retry_on_conflict')).toBe('3');
    expect(standIn.documents.get(`cali-incidents/${id}`)).toMatchObject({
      '@timestamp': '2026-11-29T10:00:00.000Z', fingerprint: '72f1f265cb4cc8d3', count: 9, lastSeen: '2026-11-29T10:01:00.000Z', pods: ['payment-1', 'payment-2'],
      firstSeen: '2026-11-29T10:00:00.000Z',
      analysis: { analyzer: 'llm', likelyCause: 'card processor down', similarFingerprints: ['aa'], runbooks: ['payments.md'], analyzedAt: '2026-11-29T10:00:10.000Z' },
    });
  });

  it('a failure is a SinkError that says whether to retry', async () => {
    const client = new Client({ node: 'http://127.0.0.1:1', maxRetries: 0, requestTimeout: 1_000 });
    const writer = new IncidentIndexWriter(client, 'cali-incidents');
    await expect(writer.recordAnalysis('ff', 1, { analyzer: 'retrieval', similarIncidents: [], runbooks: [] })).rejects.toMatchObject({ code: 'sink_unavailable', retriable: true });
    await client.close();
  });
});

const liveUrl = process.env.OPENSEARCH_URL;

describe('against a real OpenSearch (OPENSEARCH_URL)', () => {
  it.skipIf(liveUrl === undefined)('installs the templates and policy, indexes a batch, and a replay leaves one document per record', async () => {
    const prefix = `cali-test-${Date.now()}`;
    const config = compileOpenSearchSinkConfig({ url: liveUrl!, indexPrefix: prefix, incidentsIndex: `${prefix}-incidents`, replicas: 0, maxBulkAgeMs: 20 });
    const live = OpenSearchSink.create(config, { dlq });
    sinks.push(live);
    await live.setup();
    sequence = 5_000;
    const chunk = archiveChunk(20, 'shardId-000000000003', 5);
    await live.write([chunk]);
    await live.write([chunk]);
    const client = new Client({ node: liveUrl! });
    try {
      await client.indices.refresh({ index: `${prefix}-*` });
      const count = await client.count({ index: `${prefix}-*` });
      expect((count.body as { count: number }).count).toBe(20);
      const mapping = await client.indices.getMapping({ index: `${prefix}-*` });
      const first = Object.values(mapping.body as Record<string, { mappings: { properties: Record<string, { type: string }> } }>)[0]!;
      expect(first.mappings.properties.log_content?.type).toBe('text');
      expect(first.mappings.properties['@timestamp']?.type).toBe('date');
      const policy = await client.ism.existsPolicy({ policy_id: `${prefix}-retention` });
      expect(policy.statusCode).toBe(200);
    } finally {
      await client.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `${prefix}-template` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `${prefix}-incidents-template` }).catch(() => undefined);
      await client.ism.deletePolicy({ policy_id: `${prefix}-retention` }).catch(() => undefined);
      await client.close();
    }
  });
});

// parseBulk is the stand-in's reading of the body: the same reading must hold for what the sink builds.
describe('bulk body format', () => {
  it('pairs an action line with a document line, NDJSON terminated by a newline', async () => {
    const s = sink({ installTemplates: false });
    await s.write([archiveChunk(2)]);
    const body = standIn.requests.find((r) => r.path === '/_bulk')!.body;
    expect(body.endsWith('\n')).toBe(true);
    expect(body.split('\n')).toHaveLength(5);
    expect(parseBulk(body)).toHaveLength(2);
    expect(standIn.requests.find((r) => r.path === '/_bulk')!.headers['content-type']).toMatch(/application\/(x-)?ndjson/);
  });
});
