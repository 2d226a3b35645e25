/**
 * The dashboards and alert rules proven against a real Prometheus (Debian's
 * package; .ci/run installs it): a `cali run` consumer on the embedded stack
 * with traffic (valid, invalid, errors), Prometheus scraping its /metrics
 * every second, then EVERY PromQL expression of every dashboard panel must
 * return at least one series, and every alert rule of the PrometheusRule
 * must parse, load (promtool and Prometheus itself) and evaluate.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createKinesisClient } from '../src/aws.js';
import { freeLoopbackPort } from '../src/local/net.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { waitFor, WorkerProcess } from './support/cluster.js';
import { alertRules, loadDashboards, loadRuleManifest, promQueries, substituteGrafanaVariables } from './support/dashboards.js';

const prometheusBinary = spawnSync('sh', ['-c', 'command -v prometheus && command -v promtool'], { encoding: 'utf8' });
const havePrometheus = prometheusBinary.status === 0;
if (!havePrometheus) {
  process.stderr.write('prometheus-proof: SKIPPED: the `prometheus` and `promtool` binaries are not installed (apt-get install prometheus; .ci/run does)\n');
}

const STREAM = 'prom-proof';
const dir = mkdtempSync(join(tmpdir(), 'cali-prom-proof-'));
let stack: LocalStack;
let kinesis: KinesisClient;
let consumer: WorkerProcess | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let api = '';
let target = '';
const stopTraffic = new AbortController();
let traffic: Promise<void> | undefined;

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

async function query(expr: string): Promise<QueryResponse> {
  const response = await fetch(`${api}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await response.json()) as QueryResponse;
}

async function resultCount(expr: string): Promise<number> {
  const answer = await query(expr);
  return answer.status === 'success' ? (answer.data?.result.length ?? 0) : 0;
}

describe.skipIf(!havePrometheus)('dashboards and alert rules against a real Prometheus', () => {
  beforeAll(async () => {
    stack = await startLocalStack({ shards: 2, streamName: STREAM, appName: 'prom-proof' });
    kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
    consumer = new WorkerProcess('prom-a', {
      ...stack.env, CALI_STREAM_NAME: STREAM, CALI_APP_NAME: 'prom-proof', CALI_FAILOVER_MS: '3000',
      CALI_ARCHIVE_URI: join(dir, 'archive'), CALI_DLQ_URI: join(dir, 'dlq'), CALI_WORKER_THREADS: '1',
      CALI_METRICS_PORT: '0', CALI_METRICS_HOST: '127.0.0.1',
    });
    const listening = await waitFor('the consumer\'s metrics server', () => consumer!.events('metrics.listening')[0] ?? (consumer!.alive ? undefined : Promise.reject(new Error(consumer!.stderr))), 30_000);
    target = `127.0.0.1:${String(listening.port)}`;

    const rulesFile = join(dir, 'rules.yml');
    writeFileSync(rulesFile, stringify({ groups: loadRuleManifest().spec.groups }));
    const promPort = await freeLoopbackPort();
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [rulesFile],
      scrape_configs: [{ job_name: 'cali', static_configs: [{ targets: [target] }] }],
    }));
    prometheus = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout?.on('data', (chunk: Buffer) => { prometheusLog += chunk.toString(); });
    prometheus.stderr?.on('data', (chunk: Buffer) => { prometheusLog += chunk.toString(); });
    api = `http://127.0.0.1:${promPort}`;
    await waitFor('Prometheus ready', async () => (await fetch(`${api}/-/ready`).then((r) => r.ok, () => false)) || (prometheus?.exitCode !== null ? Promise.reject(new Error(prometheusLog)) : undefined), 30_000, 200);

    // Traffic with errors (incident candidates) and invalid records (DLQ reasons) for as long as the test runs, so rate() moves.
    const simulator = new LogSimulator({ seed: 8, errorRatio: 0.1, invalidRatio: 0.08 });
    const producer = new KinesisProducer(kinesis, { streamName: STREAM });
    let key = 0;
    traffic = (async () => {
      while (!stopTraffic.signal.aborted) {
        await producer.put(Array.from({ length: 40 }, () => ({ data: simulator.next().data, partitionKey: `k${key++}` })));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    await waitFor('records and DLQ reasons scraped', async () =>
      (await resultCount('sum(rate(cali_records_processed_total[15s])) > 0')) > 0 && (await resultCount('cali_dlq_records_total')) > 0 && (await resultCount('cali_behind_latest_seconds')) > 0,
    60_000, 500).catch(async (error: unknown) => {
      const seen = await Promise.all(['cali_records_processed_total', 'cali_dlq_records_total', 'cali_behind_latest_seconds', 'up'].map(async (m) => `${m}: ${JSON.stringify((await query(m)).data?.result)}`));
      throw new Error(`${String(error)}\n${seen.join('\n')}\nconsumer: ${consumer?.stderr ?? ''}\nprometheus: ${prometheusLog}`);
    });
  }, 120_000);

  afterAll(async () => {
    stopTraffic.abort();
    await traffic;
    prometheus?.kill('SIGTERM');
    await consumer?.stop('SIGTERM');
    kinesis?.destroy();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('promtool accepts the rules extracted from the PrometheusRule', () => {
    const result = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('every PromQL expression of every dashboard panel returns data', async () => {
    const queries = promQueries(loadDashboards());
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    for (const { where, expr } of queries) {
      const answer = await query(substituteGrafanaVariables(expr));
      expect(answer.status, `${where}: ${expr}: ${answer.error ?? ''}`).toBe('success');
      if ((answer.data?.result.length ?? 0) === 0) empty.push(`${where}: ${expr}`);
    }
    expect(empty, 'panels whose query returns no series').toEqual([]);
  });

  it('every alert rule parses and evaluates, and Prometheus loaded every rule healthy', async () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['CaliConsumerLagging', 'CaliDlqRateHigh', 'CaliNoLeasesHeld', 'CaliAlertDeliveryFailing']));
    for (const rule of rules) {
      const answer = await query(rule.expr);
      expect(answer.status, `${rule.alert}: ${answer.error ?? ''}`).toBe('success');
    }
    // The metrics each rule reads are exported (an alert on a misspelt metric would never fire).
    for (const rule of rules) {
      for (const metric of new Set(rule.expr.match(/cali_[a-z_]+/g) ?? [])) {
        expect(await resultCount(metric), `${rule.alert} reads ${metric}`).toBeGreaterThan(0);
      }
    }
    const loaded = await waitFor('every rule evaluated', async () => {
      const body = (await (await fetch(`${api}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length === rules.length && all.every((r) => r.health === 'ok') ? all : undefined;
    }, 15_000, 500);
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('a scrape of the consumer shows the catalogue of the design brief', async () => {
    const catalogue = [
      'cali_records_processed_total', 'cali_records_invalid_total', 'cali_dlq_records_total', 'cali_alerts_sent_total',
      'cali_alerts_suppressed_total', 'cali_leases_held', 'cali_lease_takes_total', 'cali_lease_steals_total',
      'cali_behind_latest_seconds', 'cali_batch_duration_seconds_bucket', 'cali_worker_pool_utilization', 'cali_rag_requests_total',
      'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes',
    ];
    for (const metric of catalogue) expect(await resultCount(metric), metric).toBeGreaterThan(0);
    expect(await resultCount('cali_leases_held == 2')).toBe(1);
  });

  it('SIGTERM: the consumer stops gracefully, its metrics server with it', async () => {
    const url = `http://${target}`;
    expect(await fetch(`${url}/healthz`).then((r) => r.status)).toBe(200);
    stopTraffic.abort();
    await traffic;
    expect(await consumer!.stop('SIGTERM')).toBe(0);
    expect(consumer!.events('consumer.stopped')).toHaveLength(1);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
