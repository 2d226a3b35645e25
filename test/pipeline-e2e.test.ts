/**
 * The record pipeline end to end with real `cali run` processes on the
 * embedded stack, archive and DLQ in local directories: a steady run archives
 * every valid record once and dead-letters every invalid one with the reason
 * of its kind; a consumer SIGKILLed mid-flow and restarted loses nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { LogSimulator, type SimulatedEvent } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { readWholeStream, waitFor, WorkerProcess } from './support/cluster.js';
import { reconcileSinks } from '../src/local/reconcile.js';

const STREAM = 'e2e';
let stack: LocalStack;
let kinesis: KinesisClient;
let producer: KinesisProducer;
const dir = mkdtempSync(join(tmpdir(), 'cali-e2e-pipeline-'));
const archiveDir = join(dir, 'archive');
const dlqDir = join(dir, 'dlq');
const workers: WorkerProcess[] = [];
const produced: SimulatedEvent[] = [];
const simulator = new LogSimulator({ seed: 21, errorRatio: 0.1, invalidRatio: 0.06 });
let keys = 0;

const env = (): Record<string, string> => ({
  ...stack.env, CALI_STREAM_NAME: STREAM, CALI_APP_NAME: 'e2e-leases', CALI_FAILOVER_MS: '3000',
  CALI_ARCHIVE_URI: archiveDir, CALI_DLQ_URI: dlqDir, CALI_WORKER_THREADS: '1',
});

async function produce(n: number): Promise<void> {
  const events = Array.from({ length: n }, () => simulator.next());
  produced.push(...events);
  await producer.put(events.map((e) => ({ data: e.data, partitionKey: `p${keys++}` })));
}

async function drained(): Promise<Awaited<ReturnType<typeof reconcileSinks>>> {
  const stream = await readWholeStream(kinesis, STREAM);
  return waitFor('everything archived or dead-lettered', async () => {
    const result = await reconcileSinks(stream, new LocalObjectStore(archiveDir), new LocalObjectStore(dlqDir));
    return result.lost === 0 ? result : undefined;
  }, 60_000, 500);
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 3, streamName: STREAM, appName: 'e2e-leases' });
  kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  producer = new KinesisProducer(kinesis, { streamName: STREAM });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  kinesis?.destroy();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pipeline end to end', () => {
  it('archives every valid record once and dead-letters every invalid one with its reason', async () => {
    workers.push(new WorkerProcess('a', env()), new WorkerProcess('b', env()));
    await produce(800);
    const result = await drained();
    expect(result.duplicates).toBe(0);
    const invalid = produced.filter((e) => e.kind === 'invalid');
    expect(result.deadLettered).toBe(invalid.length);
    expect(result.archived).toBe(produced.length - invalid.length);
    const reasonOf = new Map(result.deadLetters.map((d) => [Buffer.from(d.data).toString('base64'), d.reason.code]));
    const expectedReason: Record<string, string[]> = {
      'malformed-json': ['malformed_json'], 'missing-field': ['schema_violation'], 'wrong-type': ['schema_violation'],
      oversized: ['schema_violation'], unparsed: ['schema_violation'], 'binary-garbage': ['not_json_object', 'invalid_utf8'],
    };
    for (const event of invalid) {
      if (event.kind !== 'invalid') continue;
      expect(expectedReason[event.invalidKind], event.invalidKind).toContain(reasonOf.get(Buffer.from(event.data).toString('base64')));
    }
    expect(new Set(invalid.map((e) => e.kind === 'invalid' && e.invalidKind)).size).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('loses nothing when a consumer is SIGKILLed mid-flow and restarted', async () => {
    const victim = workers[0]!;
    const flow = (async () => {
      for (let i = 0; i < 10; i++) {
        await produce(60);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    await waitFor('the victim is processing', () => victim.events('consumer.started').length > 0, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await victim.stop('SIGKILL');
    workers.push(new WorkerProcess('a', env()));
    await flow;
    const result = await drained();
    console.log(`after SIGKILL: ${JSON.stringify({ expected: result.expected, archived: result.archived, deadLettered: result.deadLettered, lost: result.lost, duplicates: result.duplicates })}`);
    expect(result.lost).toBe(0);
    expect(result.archived + result.deadLettered - result.duplicates).toBe(result.expected);
  }, 120_000);
});
