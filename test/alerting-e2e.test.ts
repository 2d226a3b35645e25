/**
 * Alerting end to end: three `cali run` processes share a 4-shard stream on
 * the embedded stack and post to a Slack webhook stand-in on loopback. A new
 * fingerprint's alert reaches the webhook seconds after its record was put
 * (measured and printed); a 50x storm of one scenario makes exactly one alert
 * per window plus digests whose counts add up to the storm's events; a
 * replica killed between claiming an alert and sending it does not lose it.
 * Small on purpose (a few hundred records, 4 s windows): the Kinesis
 * emulator is slow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, createKinesisClient } from '../src/aws.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb-lease-store.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { AlertStore, type WindowRecord } from '../src/pipeline/alerting/alert-store.js';
import type { LogRecord } from '../src/schema/log-record.js';
import { LogSimulator, type ValidEvent } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { waitFor, WorkerProcess } from './support/cluster.js';
import { allText, SlackStandIn } from '../src/local/slack-stand-in.js';

const STREAM = 'alerts-e2e';
const APP = 'alerts-e2e-leases';
const STORM = 'db-pool-exhausted';
let stack: LocalStack;
let kinesis: KinesisClient;
let dynamo: DynamoDBClient;
let producer: KinesisProducer;
let store: AlertStore;
const slack = new SlackStandIn();
const workers: WorkerProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cali-alerting-e2e-'));
const fingerprint = compileFingerprinter();
let keys = 0;

const env = (): Record<string, string> => ({
  ...stack.env, CALI_STREAM_NAME: STREAM, CALI_APP_NAME: APP, CALI_FAILOVER_MS: '3000', CALI_WORKER_THREADS: '1',
  CALI_ARCHIVE_URI: join(dir, 'archive'), CALI_DLQ_URI: join(dir, 'dlq'), CALI_CONFIG: join(dir, 'cali.yaml'),
  SLACK_WEBHOOK_URL: slack.webhookUrl, CALI_ENVIRONMENT: 'e2e',
});

async function put(records: readonly (LogRecord | ValidEvent)[]): Promise<void> {
  await producer.put(records.map((r) => ({
    data: 'data' in r ? r.data : new TextEncoder().encode(JSON.stringify(r)),
    partitionKey: `k${keys++}`,
  })));
}

function probe(service: string): LogRecord {
  const message = `Probe ${service} failed: upstream returned an unexpected status`;
  return { timestamp: new Date().toISOString(), level: 'ERROR', service, message, log_content: message, kubernetes: { namespace_name: 'shop', pod_name: `${service}-0`, container_name: service } };
}

const textOf = (body: Record<string, unknown>): string => String(body.text ?? '');

async function closedWindows(fp: string, total: number, timeoutMs: number): Promise<WindowRecord[]> {
  return waitFor(`windows of ${fp} closed with ${total} occurrences`, async () => {
    const all = await store.windowsOf(fp);
    return all.length > 0 && all.every((w) => w.closeState === 'closed') && all.reduce((n, w) => n + w.count, 0) >= total ? all : undefined;
  }, timeoutMs, 300);
}

beforeAll(async () => {
  await slack.start();
  writeFileSync(join(dir, 'cali.yaml'), `
alerting:
  rules:
    - { id: errors, match: { levels: [error, fatal] }, windowSeconds: 4 }
  throttle: { flushIntervalMs: 300, closeGraceMs: 1500, claimTimeoutMs: 3000, sweepIntervalMs: 500 }
`);
  stack = await startLocalStack({ shards: 4, streamName: STREAM, appName: APP });
  kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  dynamo = createDynamoDbClient({ region: stack.region, endpoint: stack.endpoints.dynamodb, credentials: stack.credentials });
  producer = new KinesisProducer(kinesis, { streamName: STREAM });
  store = new AlertStore(dynamo, `${APP}-alerts`);
  for (const id of ['a', 'b', 'c']) workers.push(new WorkerProcess(id, env()));
  const leases = DynamoDbLeaseStore.create({ region: stack.region, endpoint: stack.endpoints.dynamodb, credentials: stack.credentials, tableName: APP });
  try {
    await waitFor('every shard leased', async () => {
      const { leases: all } = await leases.listLeases();
      return all.length === 4 && all.every((l) => l.leaseOwner !== undefined);
    }, 60_000, 250);
  } finally {
    leases.close();
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  kinesis?.destroy();
  dynamo?.destroy();
  await stack?.stop();
  await slack.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('alerting end to end (3 consumer processes, 4 shards)', () => {
  it('a new fingerprint\'s alert reaches the webhook seconds after the record was put', async () => {
    const latencies: number[] = [];
    for (const service of ['one', 'two', 'three', 'four', 'five', 'six', 'seven'].map((n) => `latency-probe-${n}`)) {
      const putAt = Date.now();
      await put([probe(service)]);
      const request = await waitFor(`the alert for ${service}`, () => slack.delivered.find((r) => textOf(r.body).includes(service)), 30_000, 20);
      latencies.push(request.at - putAt);
    }
    const sorted = [...latencies].sort((x, y) => x - y);
    console.log(`new-fingerprint alert latency (put -> webhook), ms: ${latencies.join(', ')}; median ${sorted[sorted.length >> 1]}, max ${sorted.at(-1)}`);
    // The target is 2 s; asserted generously because this machine is shared and noisy.
    for (const ms of latencies) expect(ms).toBeLessThan(10_000);
  }, 120_000);

  it('a 50x storm of one scenario makes one alert per window and digests that add up to its events', async () => {
    const simulator = new LogSimulator({ seed: 5, errorRatio: 0.3, invalidRatio: 0, storm: { periodMs: 3_600_000, durationMs: 3_600_000, multiplier: 50, scenarioId: STORM } });
    const storm: ValidEvent[] = [];
    let stormFp: string | undefined;
    for (let round = 0; round < 4; round++) {
      const events = Array.from({ length: 150 }, () => simulator.next()).filter((e): e is ValidEvent => e.kind === 'valid');
      for (const e of events) {
        if (e.label !== STORM) continue;
        storm.push(e);
        const fp = fingerprint(e.record).fingerprint;
        stormFp ??= fp;
        expect(fp).toBe(stormFp);
      }
      await put(events);
      await new Promise((r) => setTimeout(r, 2_500));
    }
    expect(storm.length).toBeGreaterThan(50);
    const windows = await closedWindows(stormFp!, storm.length, 60_000);
    const total = windows.reduce((n, w) => n + w.count, 0);
    expect(total).toBe(storm.length);
    const mine = slack.delivered.filter((r) => textOf(r.body).includes(stormFp!));
    const alerts = mine.filter((r) => !textOf(r.body).startsWith('Digest'));
    const digests = mine.filter((r) => textOf(r.body).startsWith('Digest'));
    expect(alerts).toHaveLength(windows.length);
    const alerted = alerts.reduce((n, r) => n + Number(/\(x(\d+), fingerprint/.exec(textOf(r.body))?.[1]), 0);
    const repeated = digests.reduce((n, r) => n + Number(/x(\d+) more in the last/.exec(textOf(r.body))?.[1]), 0);
    expect(alerted + repeated).toBe(storm.length);
    const claims = workers.flatMap((w) => w.events('window.opened')).filter((l) => l.fingerprint === stormFp && l.claimed === true);
    expect(claims).toHaveLength(windows.length);
    console.log(`storm: ${storm.length} events of ${STORM} -> ${windows.length} windows, ${alerts.length} alerts (x${alerted}) + ${digests.length} digests (x${repeated}); replicas that counted: ${new Set(workers.flatMap((w) => w.events('window.opened')).filter((l) => l.fingerprint === stormFp).map((l) => l.workerId)).size}`);
  }, 120_000);

  it('an alert whose replica was killed between claim and send is sent by another replica', async () => {
    slack.holdMatching = 'kill-probe-service';
    const record = probe('kill-probe-service');
    const fp = fingerprint(record).fingerprint;
    await put([record]);
    await waitFor('the held request', () => slack.requests.some((r) => r.raw.includes('kill-probe-service')), 30_000, 20);
    const claimer = await waitFor('the claimer', () => workers.find((w) => w.events('window.opened').some((l) => l.fingerprint === fp && l.claimed === true)), 10_000, 20);
    await claimer.stop('SIGKILL');
    const delivered = await waitFor('the alert from another replica', () => slack.delivered.find((r) => allText(r.body).includes('kill-probe-service')), 30_000, 50);
    expect(textOf(delivered.body)).toContain(fp);
    const window = await waitFor('the window marked sent', async () => (await store.windowsOf(fp)).find((w) => w.state === 'sent'), 10_000, 100);
    expect(window.owner).not.toBe(claimer.workerId);
    expect(slack.delivered.filter((r) => allText(r.body).includes('kill-probe-service'))).toHaveLength(1);
  }, 60_000);
});
