import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/run-config.js';
import { cliEnv, runCli, startCli } from './support/cli.js';

const base = {
  AWS_REGION: 'us-east-1', CALI_STREAM_NAME: 'logs', AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:1',
  CALI_ARCHIVE_URI: 's3://archive/a/', CALI_DLQ_URI: 's3://dlq/d/',
};

describe('cali run configuration', () => {
  for (const [variable, value, message] of [
    ['CALI_FAILOVER_MS', 'soon', /^cali: CALI_FAILOVER_MS is "soon": set a whole number of milliseconds/],
    ['CALI_FAILOVER_MS', '200', /^cali: failoverMs \(CALI_FAILOVER_MS\) must be at least 1000 ms/],
    ['CALI_TAKE_INTERVAL_MS', '50', /^cali: takeIntervalMs \(CALI_TAKE_INTERVAL_MS\) must be at least 100 ms, got 50/],
    ['CALI_TAKE_INTERVAL_MS', 'often', /^cali: CALI_TAKE_INTERVAL_MS is "often": set a whole number of milliseconds, e.g. 500/],
    ['CALI_MAX_RECORDS', '20000', /^cali: CALI_MAX_RECORDS is 20000: GetRecords returns at most 10000 records; set 1 to 10000/],
    ['CALI_MAX_RECORDS', 'lots', /^cali: CALI_MAX_RECORDS is "lots": set a whole number of records, e.g. 10000/],
    ['CALI_IDLE_TIME_MS', '50', /^cali: CALI_IDLE_TIME_MS is 50: Kinesis allows 5 reads per second per shard for all applications together; set at least 200/],
    ['CALI_INITIAL_POSITION', 'BEGINNING', /^cali: CALI_INITIAL_POSITION is "BEGINNING": use TRIM_HORIZON, LATEST or AT_TIMESTAMP/],
    ['CALI_APP_NAME', 'a b', /^cali: CALI_APP_NAME is "a b": use 3-255 letters/],
    ['CALI_WORKER_ID', 'has space', /^cali: workerId \(CALI_WORKER_ID\) "has space" must be/],
    ['CALI_LOG_LEVEL', 'loud', /^cali: CALI_LOG_LEVEL is "loud": use one of/],
    ['AWS_ENDPOINT_URL_DYNAMODB', 'nope', /^cali: AWS_ENDPOINT_URL_DYNAMODB is not a URL/],
    ['CALI_ARCHIVE_URI', '', /^cali: CALI_ARCHIVE_URI is not set: set it to s3:\/\/bucket\/prefix\/ or a local directory/],
    ['CALI_DLQ_URI', 's3://', /^cali: CALI_DLQ_URI/],
    ['CALI_WORKER_THREADS', 'many', /^cali: CALI_WORKER_THREADS is "many": set a whole number of threads/],
    ['CALI_METRICS_PORT', '99999', /^cali: CALI_METRICS_PORT is "99999": set a port from 1 to 65535/],
    ['OPENSEARCH_URL', 'ftp://search', /^cali: OpenSearch sink \(OPENSEARCH_URL\): url must be http or https/],
  ] as const) {
    it(`stops start-up on a bad ${variable} with one line naming it`, () => {
      const result = runCli(['run'], cliEnv({ ...base, [variable]: value }));
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    });
  }
});

describe('cali run reader and lease settings', () => {
  it('defaults to the most GetRecords returns, four reads a second when caught up, and lease scans every 500 ms', () => {
    const config = loadRunConfig(base);
    expect(config.reader).toEqual({ maxRecords: 10_000, idleMs: 250 });
    expect(config.lease.takeIntervalMs).toBe(500);
  });

  it('takes CALI_MAX_RECORDS, CALI_IDLE_TIME_MS and CALI_TAKE_INTERVAL_MS from the environment', () => {
    const config = loadRunConfig({ ...base, CALI_MAX_RECORDS: '1000', CALI_IDLE_TIME_MS: '1000', CALI_TAKE_INTERVAL_MS: '2000' });
    expect(config.reader).toEqual({ maxRecords: 1_000, idleMs: 1_000 });
    expect(config.lease.takeIntervalMs).toBe(2_000);
  });
});

describe('cali run metrics port', () => {
  it('a CALI_METRICS_PORT in use stops start-up with one line naming the variable', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const child = startCli(['run'], cliEnv({ ...base, OPENSEARCH_URL: undefined, CALI_METRICS_PORT: String(port), CALI_METRICS_HOST: '127.0.0.1', CALI_WORKER_THREADS: '1' }));
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n').filter((l) => l.startsWith('cali:'));
      expect(lines).toEqual([`cali: CALI_METRICS_PORT: port ${port} on 127.0.0.1 is already in use (another consumer?): set CALI_METRICS_PORT to a free port, or 0 to pick one`]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
