import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { createKinesisClient } from '../../aws.js';
import { type CaliError } from '../../errors.js';
import { startLocalStack } from '../../local/stack.js';
import { StreamTail } from '../../local/stream-tail.js';
import { LogSimulator } from '../../simulator/generator.js';
import { KinesisProducer } from '../../simulator/producer.js';
import { runSimulation, type SimulationStats } from '../../simulator/run.js';
import { intOption, numberOption } from '../options.js';
import { shutdownSignal } from '../shutdown.js';
import { addSimulatorOptions, simulatorOptionsFrom, toProducerEntries, type SimulatorFlags } from '../simulator-options.js';
import { StatusLine } from '../status-line.js';

interface LocalFlags extends SimulatorFlags {
  shards: number;
  duration?: number;
  summary?: string;
}

interface LocalSummary {
  streamName: string;
  shards: number;
  elapsedSeconds: number;
  produced: SimulationStats;
  inStream: StreamTail['counts'];
}

function statusText(stats: SimulationStats, tail: StreamTail): string {
  const seconds = Math.max(stats.elapsedMs / 1000, 0.001);
  const c = tail.counts;
  return `local: produced ${stats.produced} (${Math.round(stats.produced / seconds)}/s, ${stats.errors} errors, ${stats.invalid} invalid)`
    + ` | in stream ${c.records} (${c.json} JSON, ${(c.bytes / 1024 / 1024).toFixed(1)} MiB)`
    + (stats.storm ? ` | storm: ${stats.storm}` : '');
}

export function registerLocal(program: Command): void {
  const command = program
    .command('local')
    .description('run CALI on the embedded stack: Kinesis, DynamoDB and S3 on 127.0.0.1 with the log simulator producing')
    .addOption(new Option('--shards <n>', 'shards in the stream').argParser(intOption(1, 200)).default(4))
    .addOption(new Option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)').argParser(numberOption(1)))
    .option('--summary <file>', 'write a JSON summary of the run to FILE on exit')
    .addHelpText('after', `
What you see: a status line with the records produced (errors, invalid ones,
the storming scenario) and the records that arrived in the stream.
Ctrl-C stops the simulator and the stack.`);
  addSimulatorOptions(command, 200).action((flags: LocalFlags) => runLocal(flags));
}

async function runLocal(flags: LocalFlags): Promise<void> {
  const abort = new AbortController();
  const stopRequested = shutdownSignal();
  void stopRequested.then(() => abort.abort());
  const started = performance.now();
  process.stderr.write(`local: starting the embedded stack (${flags.shards} shards)...\n`);
  const stack = await startLocalStack({ shards: flags.shards, streamName: 'cali-logs', appName: 'cali' });
  const client = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const tail = new StreamTail(client, stack.env.CALI_STREAM_NAME);
  let crash: CaliError | undefined;
  void stack.crashed.then((error) => { crash = error; abort.abort(); });
  try {
    process.stderr.write(`local: stack ready in ${((performance.now() - started) / 1000).toFixed(1)} s: Kinesis ${stack.endpoints.kinesis}, DynamoDB ${stack.endpoints.dynamodb}, S3 ${stack.endpoints.s3}\n`);
    await tail.start();
    const producer = new KinesisProducer(client, { streamName: stack.env.CALI_STREAM_NAME });
    const status = new StatusLine();
    let stats: SimulationStats = { produced: 0, valid: 0, errors: 0, invalid: 0, elapsedMs: 0, storm: undefined };
    const refresh = setInterval(() => status.update(statusText(stats, tail)), 1000);
    try {
      stats = await runSimulation(new LogSimulator(simulatorOptionsFrom(flags)), async (events) => {
        await producer.put(toProducerEntries(events));
      }, {
        rate: flags.rate,
        durationMs: flags.duration === undefined ? undefined : flags.duration * 1000,
        signal: abort.signal,
        onProgress: (s) => { stats = s; },
      });
    } finally {
      clearInterval(refresh);
    }
    await waitForTail(tail, stats.produced, abort.signal);
    status.done(statusText(stats, tail));
    if (crash) throw crash;
    if (flags.summary) {
      const summary: LocalSummary = {
        streamName: stack.env.CALI_STREAM_NAME, shards: flags.shards,
        elapsedSeconds: (performance.now() - started) / 1000, produced: stats, inStream: tail.counts,
      };
      await writeFile(flags.summary, `${JSON.stringify(summary, null, 2)}\n`);
    }
  } finally {
    await tail.stop();
    client.destroy();
    await stack.stop();
  }
}

/** After the producer stops, give the tail a moment to see the last records (not after Ctrl-C). */
async function waitForTail(tail: StreamTail, produced: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!signal.aborted && tail.counts.records < produced && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
