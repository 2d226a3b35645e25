/**
 * The foundation's promise end to end: `cali stack --env-file F`, then
 * `set -a; . F; cali simulate --count 2000` in a shell, puts 2000 records that
 * a plain AWS SDK client reading the stream parses as the record type.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateLogRecord } from '../src/workers/validate-record.js';
import { CLI, cliEnv, startCli } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cali-e2e-'));
const envFile = join(dir, 'stack.env');
const stack = startCli(['stack', '--shards', '3', '--env-file', envFile]);
let stackStderr = '';
stack.stderr.on('data', (chunk: Buffer) => { stackStderr += chunk.toString(); });

beforeAll(async () => {
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (Date.now() > deadline || stack.exitCode !== null) throw new Error(`stack did not start: ${stackStderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  if (stack.exitCode === null) {
    const exited = new Promise((resolve) => stack.once('exit', resolve));
    stack.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function readEnv(): Record<string, string> {
  return Object.fromEntries(readFileSync(envFile, 'utf8').trim().split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)];
  }));
}

describe('stack + simulate + a plain SDK reader', () => {
  it('delivers 2000 records that parse as the record type', async () => {
    const script = `set -a; . '${envFile}'; set +a; exec "${process.execPath}" -- "${CLI}" simulate --count 2000 --rate 2000 --invalid-ratio 0 --seed 5`;
    const simulate = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: cliEnv(), timeout: 120_000 });
    expect(simulate.status, simulate.stderr).toBe(0);
    expect(simulate.stderr).toMatch(/simulate: 2000 records/);

    const env = readEnv();
    const kinesis = new KinesisClient({
      region: env.AWS_REGION,
      endpoint: env.AWS_ENDPOINT_URL_KINESIS,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
      requestHandler: new NodeHttpHandler(),
    });
    const stream = env.CALI_STREAM_NAME;
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
    expect(Shards).toHaveLength(3);
    const decoder = new TextDecoder();
    let total = 0;
    const perShard: number[] = [];
    for (const shard of Shards) {
      let { ShardIterator: iterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      let count = 0;
      while (iterator) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const record of page.Records ?? []) {
          const parsed: unknown = JSON.parse(decoder.decode(record.Data));
          const result = validateLogRecord(parsed);
          expect(result.success, JSON.stringify(result.success ? null : result.errors)).toBe(true);
          count++;
        }
        if ((page.Records?.length ?? 0) === 0 && page.MillisBehindLatest === 0) break;
        iterator = page.NextShardIterator;
      }
      perShard.push(count);
      total += count;
    }
    kinesis.destroy();
    expect(total).toBe(2000);
    // Random partition keys spread the records over every shard.
    for (const count of perShard) expect(count).toBeGreaterThan(400);
  }, 180_000);
});
