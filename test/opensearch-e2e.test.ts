/**
 * The composition root's wiring of the search sink: a real `cali run` on the
 * embedded stack with OPENSEARCH_URL pointing at the loopback stand-in,
 * gating the checkpoint. It installs the templates and the policy at
 * start-up, indexes every valid record exactly once under its position id,
 * and its /metrics and /status report the index.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { documentId } from '../src/pipeline/sinks/opensearch/request.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { waitFor, WorkerProcess } from './support/cluster.js';
import { OpenSearchStandIn } from './support/opensearch-standin.js';

const STREAM = 'search-e2e';
const dir = mkdtempSync(join(tmpdir(), 'cali-search-e2e-'));
let stack: LocalStack;
let kinesis: KinesisClient;
let standIn: OpenSearchStandIn;
let consumer: WorkerProcess | undefined;

beforeAll(async () => {
  [stack, standIn] = await Promise.all([startLocalStack({ shards: 2, streamName: STREAM, appName: 'search-e2e' }), new OpenSearchStandIn().start()]);
  kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
}, 60_000);

afterAll(async () => {
  await consumer?.stop('SIGKILL');
  kinesis?.destroy();
  await Promise.all([stack?.stop(), standIn?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('cali run with OPENSEARCH_URL', () => {
  it('installs the index setup, indexes every valid record once and every alert as an incident, and reports it in /metrics and /status', async () => {
    consumer = new WorkerProcess('search-a', {
      ...stack.env, CALI_STREAM_NAME: STREAM, CALI_APP_NAME: 'search-e2e', CALI_FAILOVER_MS: '3000',
      CALI_ARCHIVE_URI: join(dir, 'archive'), CALI_DLQ_URI: join(dir, 'dlq'), CALI_WORKER_THREADS: '1',
      OPENSEARCH_URL: standIn.url, CALI_OPENSEARCH_GATES_CHECKPOINT: 'true', CALI_OPENSEARCH_MAX_BULK_AGE_MS: '200',
    });
    const listening = await waitFor('metrics server', () => consumer!.events('metrics.listening')[0] ?? (consumer!.alive ? undefined : Promise.reject(new Error(consumer!.stderr))), 30_000);
    await waitFor('leases taken', () => consumer!.events('lease.taken').length === 2 || undefined, 30_000);
    expect(consumer.events('opensearch.ready')).toHaveLength(1);
    expect(standIn.requests.filter((r) => r.method !== 'HEAD').map((r) => r.path)).toEqual([
      '/_plugins/_ism/policies/cali-logs-retention', '/_index_template/cali-logs-template', '/_index_template/cali-incidents-template',
    ]);

    const simulator = new LogSimulator({ seed: 31, errorRatio: 0.1, invalidRatio: 0.1 });
    const events = Array.from({ length: 200 }, () => simulator.next());
    const valid = events.filter((e) => e.kind !== 'invalid').length;
    await new KinesisProducer(kinesis, { streamName: STREAM }).put(events.map((e, i) => ({ data: e.data, partitionKey: `p${i}` })));
    const logs = (): [string, Record<string, unknown>][] => [...standIn.documents].filter(([key]) => !key.startsWith('cali-incidents/'));
    await waitFor('every valid record indexed', () => logs().length >= valid || undefined, 60_000, 200);
    expect(logs()).toHaveLength(valid);
    // The errors among them were alerted, and each alert is an incident document (alerting's incident log).
    const incidents = await waitFor('incidents indexed', () => {
      const found = [...standIn.documents].filter(([key]) => key.startsWith('cali-incidents/')).map(([, source]) => source);
      return found.length > 0 ? found : undefined;
    }, 30_000, 200);
    for (const incident of incidents) expect(incident.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    for (const [key, source] of logs()) {
      const cali = source._cali as { shardId: string; sequenceNumber: string; subSequenceNumber: number };
      expect(key.split('/')[1]).toBe(documentId(cali.shardId, cali.sequenceNumber, cali.subSequenceNumber));
      expect(typeof source['@timestamp']).toBe('string');
    }

    const url = String(listening.url);
    const metrics = await waitFor('indexed documents counted', async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text.includes(`cali_opensearch_documents_total{outcome="indexed"} ${valid}`) ? text : undefined;
    }, 10_000, 200);
    expect(metrics).toMatch(/cali_sink_healthy\{sink="opensearch"\} 1/);
    const status = (await (await fetch(`${url}/status`)).json()) as { sinks: { name: string; required: boolean; healthy: boolean }[] };
    expect(status.sinks.map((s) => [s.name, s.required, s.healthy])).toEqual([['archive', true, true], ['dlq', true, true], ['opensearch', true, true]]);
    expect(await consumer.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
