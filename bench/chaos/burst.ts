/**
 * Memory under a burst: a consumer process (`cali run`, 2 worker threads)
 * drains a backlog of B records, then, after it is stopped, a backlog ten
 * times larger; its RSS (Linux /proc, worker threads included) is sampled
 * throughout. Bounded memory means the second peak is about the first: the
 * pipeline's in-flight limits make a larger backlog take longer, not more RAM
 * (the reader does not fetch while its batches wait).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createKinesisClient } from '../../src/aws.js';
import { startLocalStack } from '../../src/local/stack.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { KinesisProducer } from '../../src/simulator/producer.js';
import { sleep } from '../../src/sleep.js';
import { cliPath } from '../cli-path.js';

export interface BurstOptions {
  readonly shards: number;
  /** Records in the first backlog; the burst is ten times as many. */
  readonly baseline: number;
  readonly seed: number;
  /** The consumer's CALI_MAX_RECORDS (GetRecords limit, so the batch size); default the consumer's. */
  readonly maxRecords?: number;
  readonly log?: (line: string) => void;
}

export interface DrainSample {
  readonly records: number;
  readonly drainMs: number;
  readonly peakRssMiB: number;
  readonly samples: number;
}

export interface BurstReport {
  readonly baseline: DrainSample;
  readonly burst: DrainSample;
  /** burst peak / baseline peak. */
  readonly peakRatio: number;
}

async function rssMiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}

export async function runBurst(options: BurstOptions): Promise<BurstReport> {
  if (process.platform !== 'linux') throw new Error('the burst run reads RSS from /proc: Linux only');
  const log = options.log ?? (() => undefined);
  const cli = cliPath();
  const streamName = 'burst';
  const stack = await startLocalStack({ shards: options.shards, streamName, appName: 'burst-leases' });
  const kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const producer = new KinesisProducer(kinesis, { streamName });
  const simulator = new LogSimulator({ seed: options.seed, errorRatio: 0.1, invalidRatio: 0.01 });
  let key = 0;
  let processed = 0;
  const produce = async (count: number): Promise<void> => {
    for (let done = 0; done < count; done += 500) {
      const events = Array.from({ length: Math.min(500, count - done) }, () => simulator.next());
      await producer.put(events.map((e) => ({ data: e.data, partitionKey: `b${key++}` })));
    }
  };
  const drain = async (records: number, run: number): Promise<DrainSample> => {
    const target = processed + records;
    const child = spawn(process.execPath, ['--', cli, 'run'], {
      env: { ...process.env, ...stack.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CALI_STREAM_NAME: streamName, CALI_APP_NAME: 'burst-leases', CALI_WORKER_ID: `burst-${run}`, CALI_LOG_LEVEL: 'debug', CALI_WORKER_THREADS: '2', CALI_FAILOVER_MS: '3000', CALI_METRICS_PORT: '0',
        ...(options.maxRecords === undefined ? {} : { CALI_MAX_RECORDS: String(options.maxRecords) }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('"batch.processed"')) return;
      processed += Number((JSON.parse(line) as { records: number }).records);
    });
    const started = Date.now();
    let peak = 0;
    let samples = 0;
    try {
      while (processed < target) {
        if (child.exitCode !== null) throw new Error(`the consumer exited (${child.exitCode}) before draining the backlog`);
        const rss = await rssMiB(child.pid!);
        if (rss !== undefined) {
          peak = Math.max(peak, rss);
          samples++;
        }
        if (Date.now() - started > 300_000) throw new Error(`backlog not drained in 300 s (${processed}/${target})`);
        await sleep(100);
      }
      return { records, drainMs: Date.now() - started, peakRssMiB: Math.round(peak), samples };
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await produce(options.baseline);
    log(`baseline backlog of ${options.baseline} produced`);
    const baseline = await drain(options.baseline, 1);
    log(`baseline drained: ${JSON.stringify(baseline)}`);
    await produce(options.baseline * 10);
    log(`burst backlog of ${options.baseline * 10} produced`);
    const burst = await drain(options.baseline * 10, 2);
    log(`burst drained: ${JSON.stringify(burst)}`);
    return { baseline, burst, peakRatio: burst.peakRssMiB / baseline.peakRssMiB };
  } finally {
    kinesis.destroy();
    await stack.stop();
  }
}
