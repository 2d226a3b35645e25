/**
 * `cali quality` as an operator runs it: the archive and DLQ in S3 (the
 * embedded stack's S3 emulator) or local directories, configured by the
 * environment; the report, the textfile metrics, a Pushgateway and a Slack
 * webhook (stand-in HTTP servers on loopback that record what they get); the
 * exit status; configuration errors that name the setting and the fix.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/aws.js';
import { LOCAL_REGION } from '../src/local/stack.js';
import { S3RVER_CREDENTIALS, startS3Emulator, type S3Emulator } from '../src/local/s3.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { S3ObjectStore } from '../src/pipeline/sinks/object-store/s3-object-store.js';
import type { SuiteValidationResult } from '../src/quality/result.js';
import { cliEnv, startCli } from './support/cli.js';
import { WINDOW_END_MS, WINDOW_START_MS, writeScenario } from './support/quality-archive.js';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

interface StandIn {
  readonly url: string;
  readonly requests: Recorded[];
  readonly server: Server;
}

async function standIn(status = 200): Promise<StandIn> {
  const requests: Recorded[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', contentType: request.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'invalid_payload');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function quality(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = startCli(['quality', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

const dir = mkdtempSync(join(tmpdir(), 'cali-quality-cli-'));
const windowArgs = ['--from', new Date(WINDOW_START_MS).toISOString(), '--to', new Date(WINDOW_END_MS).toISOString()];
let s3: S3Emulator;
let client: S3Client;
const standIns: StandIn[] = [];

beforeAll(async () => {
  s3 = await startS3Emulator({ buckets: ['quality-archive'] });
  client = createS3Client({ region: LOCAL_REGION, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  for (const s of standIns) s.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cali quality', () => {
  it('reads an S3 archive and DLQ, fails on a silent service and a leaked secret, and delivers every output', async () => {
    const archive = new S3ObjectStore(client, 'quality-archive', 'archive/');
    const dlq = new S3ObjectStore(client, 'quality-archive', 'dlq/');
    await writeScenario(archive, dlq, {
      current: {
        mutate: (r, i) => {
          if (r.service === 'payment-service') return undefined;
          return i === 10 ? { ...r, message: 'login failed for jane.doe@example.com password=hunter2' } : r;
        },
      },
    });
    const suiteFile = join(dir, 'suite.yaml');
    writeFileSync(suiteFile, `
expectation_suite_name: shop
expectations:
  - expectation_type: expect_column_value_counts_to_be_within_k_sigma_of_previous_windows
    kwargs: { column: service, previous_windows: 6, k_sigma: 4, min_baseline_mean: 20 }
  - expectation_type: expect_column_values_to_match_regex
    kwargs: { column: message, regex: "^(?!.*password=)" }
    meta: { notes: no credentials in messages }
  - expectation_type: expect_dlq_ratio_to_be_below
    kwargs: { max_ratio: 0.05 }
`);
    const pushgateway = await standIn();
    const slack = await standIn();
    standIns.push(pushgateway, slack);
    const reportDir = join(dir, 'report');
    const metricsFile = join(dir, 'cali_quality.prom');
    const env = cliEnv({
      AWS_REGION: LOCAL_REGION, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      CALI_ARCHIVE_URI: 's3://quality-archive/archive/', CALI_DLQ_URI: 's3://quality-archive/dlq/',
      CALI_PUSHGATEWAY_URL: pushgateway.url, SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`,
    });
    const run = await quality([...windowArgs, '--suite', suiteFile, '--report', reportDir, '--metrics-file', metricsFile], env);

    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^quality FAILED: suite shop \| window 2026-11-20T11:50:00.000Z - 2026-11-20T12:00:00.000Z/);
    expect(run.stdout).toContain('FAIL expect_column_value_counts_to_be_within_k_sigma_of_previous_windows (service): 1 unexpected of 7');
    expect(run.stdout).toContain('FAIL expect_column_values_to_match_regex (message): 1 unexpected');
    expect(run.stdout).not.toContain('expect_dlq_ratio_to_be_below');

    const result = JSON.parse(readFileSync(join(reportDir, 'validation-result.json'), 'utf8')) as SuiteValidationResult;
    expect(result.success).toBe(false);
    expect(result.meta.batch_spec).toMatchObject({ archive: 's3://quality-archive/archive/', dlq: 's3://quality-archive/dlq/' });
    expect(result.statistics).toMatchObject({ evaluated_expectations: 3, unsuccessful_expectations: 2 });
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(html.indexOf('FAIL')).toBeLessThan(html.indexOf('>pass<'));
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http/);

    const metrics = readFileSync(metricsFile, 'utf8');
    expect(metrics).toContain('cali_quality_suite_success{suite="shop"} 0');
    expect(metrics).toMatch(/cali_quality_expectation_success\{suite="shop",index="2",expectation="expect_dlq_ratio_to_be_below",column=""\} 1/);
    expect(pushgateway.requests).toEqual([expect.objectContaining({ method: 'PUT', url: '/metrics/job/cali_quality/suite/shop', body: metrics })]);
    expect(pushgateway.requests[0]!.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(slack.requests).toHaveLength(1);
    const message = JSON.parse(slack.requests[0]!.body) as { text: string; blocks: { type: string }[] };
    expect(message.text).toBe('CALI data quality FAILED: shop (2 failing)');
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(slack.requests[0]!.body).toContain('[REDACTED:email]');
    expect(slack.requests[0]!.body).toContain('[REDACTED:secret]');
    expect(slack.requests[0]!.body).not.toMatch(/hunter2|jane\.doe/);
    expect(slack.requests[0]!.body).toContain('payment-service');
  }, 120_000);

  it('passes clean local data with exit 0, prints the GE result with --json, and says when an output failed', async () => {
    const archiveDir = join(dir, 'clean-archive');
    const dlqDir = join(dir, 'clean-dlq');
    await writeScenario(new LocalObjectStore(archiveDir), new LocalObjectStore(dlqDir), { seed: 11 });
    const slack = await standIn(400);
    standIns.push(slack);
    const run = await quality([...windowArgs, '--json'], cliEnv({ CALI_ARCHIVE_URI: archiveDir, CALI_DLQ_URI: dlqDir, SLACK_WEBHOOK_URL: `${slack.url}/services/T/B/secret-part` }));
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as SuiteValidationResult;
    expect(result.success).toBe(true);
    expect(result.meta.expectation_suite_name).toBe('cali_default');
    expect(result.results.every((r) => r.exception_info.raised_exception === false)).toBe(true);
    expect(run.stderr).toContain('cali: quality: warning: Slack summary not sent: the Slack webhook answered HTTP 400 (invalid_payload)');
    expect(run.stderr).not.toContain('secret-part');
  }, 120_000);

  it('refuses bad settings with the variable or field and the fix', async () => {
    const noArchive = await quality(['--since', '1h'], cliEnv({ CALI_ARCHIVE_URI: undefined }));
    expect(noArchive.status).toBe(1);
    expect(noArchive.stderr).toMatch(/^cali: CALI_ARCHIVE_URI is not set: set it to s3:\/\/bucket\/prefix\/ or a local directory/);

    const noDlq = await quality(['--since', '1h'], cliEnv({ CALI_ARCHIVE_URI: join(dir, 'none'), CALI_DLQ_URI: undefined }));
    expect(noDlq.stderr).toMatch(/CALI_DLQ_URI is not set and suite cali_default has expect_dlq_ratio_to_be_below/);

    const both = await quality(['--since', '1h', '--from', '2h'], cliEnv({ CALI_ARCHIVE_URI: join(dir, 'none') }));
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--since cannot be combined with --from\/--to/);

    const suiteFile = join(dir, 'bad-suite.json');
    writeFileSync(suiteFile, JSON.stringify({ expectation_suite_name: 'x', expectations: [{ expectation_type: 'expect_column_values_to_be_in_set', kwargs: { column: 'level', value_set: [], mostly: 1 } }] }));
    const badSuite = await quality(['--since', '1h', '--suite', suiteFile], cliEnv({ CALI_ARCHIVE_URI: join(dir, 'none'), CALI_DLQ_URI: join(dir, 'none') }));
    expect(badSuite.status).toBe(1);
    expect(badSuite.stderr).toMatch(/suite .*bad-suite\.json: expectations\[0\]\.kwargs\.value_set is invalid \(expected .*at least 1 items.*\): use/);

    const badWebhook = await quality(['--since', '1h'], cliEnv({ CALI_ARCHIVE_URI: join(dir, 'none'), CALI_DLQ_URI: join(dir, 'none'), SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T/B/very-secret' }));
    expect(badWebhook.stderr).toMatch(/SLACK_WEBHOOK_URL is not an http\(s\) URL \(value not shown/);
    expect(badWebhook.stderr).not.toContain('very-secret');
  }, 60_000);
});
