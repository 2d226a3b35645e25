/**
 * `cali quality` over what the real pipeline wrote: the embedded stack, a
 * `cali run` consumer, the simulator producing through Kinesis. A clean
 * stretch passes the default suite; a stretch in which one service's pods
 * print times two hours behind fails the clock-skew expectation, and only it
 * (the arrival times are Kinesis' own here, not a test's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { reconcileSinks } from '../src/local/reconcile.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import type { SuiteValidationResult } from '../src/quality/result.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { cliEnv, runCli } from './support/cli.js';
import { readWholeStream, waitFor, WorkerProcess } from './support/cluster.js';

const STREAM = 'quality-e2e';
const dir = mkdtempSync(join(tmpdir(), 'cali-quality-e2e-'));
const archiveDir = join(dir, 'archive');
const dlqDir = join(dir, 'dlq');
const simulator = new LogSimulator({ seed: 5, errorRatio: 0.05, invalidRatio: 0.01 });
const encoder = new TextEncoder();
let stack: LocalStack;
let kinesis: KinesisClient;
let producer: KinesisProducer;
let worker: WorkerProcess | undefined;
let keys = 0;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 2, streamName: STREAM, appName: 'quality-e2e-leases' });
  kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  producer = new KinesisProducer(kinesis, { streamName: STREAM });
  worker = new WorkerProcess('q', {
    ...stack.env, CALI_STREAM_NAME: STREAM, CALI_APP_NAME: 'quality-e2e-leases', CALI_FAILOVER_MS: '3000',
    CALI_ARCHIVE_URI: archiveDir, CALI_DLQ_URI: dlqDir, CALI_WORKER_THREADS: '1',
  });
});

afterAll(async () => {
  // SIGTERM: the consumer finishes, releases its leases and stops calling DynamoDB before the stack goes away.
  await worker?.stop('SIGTERM');
  kinesis?.destroy();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Produces n records (skewing one service's clock if asked) and waits until the consumer archived or dead-lettered all. */
async function produce(n: number, skewService?: string): Promise<void> {
  const records = Array.from({ length: n }, () => {
    const event = simulator.next();
    let data = event.data;
    if (event.kind === 'valid' && event.record.service === skewService) {
      data = encoder.encode(JSON.stringify({ ...event.record, timestamp: new Date(Date.parse(event.record.timestamp) - 2 * 3_600_000).toISOString() }));
    }
    return { data, partitionKey: `p${keys++}` };
  });
  await producer.put(records);
  const stream = await readWholeStream(kinesis, STREAM);
  await waitFor('everything archived or dead-lettered', async () => {
    const result = await reconcileSinks(stream, new LocalObjectStore(archiveDir), new LocalObjectStore(dlqDir));
    return result.lost === 0 ? result : undefined;
  }, 60_000, 500);
}

function quality(fromMs: number, toMs: number): { status: number | null; result: SuiteValidationResult; stderr: string } {
  const run = runCli(['quality', '--from', new Date(fromMs).toISOString(), '--to', new Date(toMs).toISOString(), '--json'], cliEnv({ CALI_ARCHIVE_URI: archiveDir, CALI_DLQ_URI: dlqDir }));
  return { status: run.status, result: JSON.parse(run.stdout) as SuiteValidationResult, stderr: run.stderr };
}

it('passes a clean stretch of real pipeline output and catches a skewed clock in the next', async () => {
  const t0 = Date.now();
  await produce(400);
  const t1 = Date.now();
  await produce(400, 'inventory-service');
  const t2 = Date.now();

  const clean = quality(t0, t1);
  expect(clean.status, JSON.stringify(clean.result.results.filter((r) => !r.success))).toBe(0);
  expect(clean.result.meta.batch_markers.archive_rows).toBeGreaterThan(350);
  expect(clean.result.meta.batch_markers.unreadable_lines).toBe(0);

  const skewed = quality(t1, t2);
  expect(skewed.status).toBe(1);
  expect(skewed.result.results.filter((r) => !r.success).map((r) => r.expectation_config.expectation_type)).toEqual(['expect_column_pair_values_to_be_within_seconds']);
  const skew = skewed.result.results.find((r) => r.expectation_config.expectation_type === 'expect_column_pair_values_to_be_within_seconds')!;
  expect(skew.result.details?.max_difference_seconds).toBeGreaterThan(7000);
}, 180_000);
