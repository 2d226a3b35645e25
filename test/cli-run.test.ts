import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
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
