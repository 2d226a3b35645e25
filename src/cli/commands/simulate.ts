import { once } from 'node:events';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { Option, type Command } from 'commander';
import { createKinesisClient } from '../../aws.js';
import { loadKinesisStreamEnv } from '../../config/env.js';
import { LogSimulator } from '../../simulator/generator.js';
import { KinesisProducer } from '../../simulator/producer.js';
import { runSimulation, type EventSink, type SimulationStats } from '../../simulator/run.js';
import { intOption, numberOption } from '../options.js';
import { shutdownSignal } from '../shutdown.js';
import { addSimulatorOptions, simulatorOptionsFrom, toProducerEntries, type SimulatorFlags } from '../simulator-options.js';
import { StatusLine } from '../status-line.js';

interface SimulateFlags extends SimulatorFlags {
  count?: number;
  duration?: number;
  stdout: boolean;
}

export function formatSimulationStats(stats: SimulationStats): string {
  const seconds = stats.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(stats.produced / seconds) : 0;
  const storm = stats.storm ? ` | storm: ${stats.storm}` : '';
  return `simulate: ${stats.produced} records (${rate}/s) | errors ${stats.errors} | invalid ${stats.invalid}${storm}`;
}

/** Raw application lines, as Fluent Bit would tail them; invalid records have no raw form and are skipped. */
const stdoutSink: EventSink = async (events) => {
  let text = '';
  for (const event of events) if (event.kind === 'valid') text += `${event.raw}\n`;
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
};

export function registerSimulate(program: Command): void {
  const command = program
    .command('simulate')
    .description('produce realistic microservice logs to the Kinesis stream named by the environment (or raw lines to stdout)')
    .addOption(new Option('--count <n>', 'stop after this many records').argParser(intOption(1)))
    .addOption(new Option('--duration <s>', 'stop after this many seconds').argParser(numberOption(0.1)))
    .option('--stdout', 'print raw application log lines (what Fluent Bit tails) instead of writing to Kinesis', false)
    .addHelpText('after', `
Environment (without --stdout): AWS_REGION, CALI_STREAM_NAME, and optionally
AWS_ENDPOINT_URL_KINESIS and AWS credentials. \`cali stack --env-file F\` writes them.
Without --count or --duration it runs until Ctrl-C.`);
  addSimulatorOptions(command, 200).action(async (flags: SimulateFlags) => {
    const simulator = new LogSimulator(simulatorOptionsFrom(flags));
    const abort = new AbortController();
    void shutdownSignal().then(() => abort.abort());

    let sink: EventSink = stdoutSink;
    let status: StatusLine | undefined;
    let client: KinesisClient | undefined;
    if (!flags.stdout) {
      const env = loadKinesisStreamEnv(process.env);
      client = createKinesisClient({ region: env.region, ...(env.kinesisEndpoint ? { endpoint: env.kinesisEndpoint } : {}) });
      const producer = new KinesisProducer(client, { streamName: env.streamName });
      sink = async (events) => { await producer.put(toProducerEntries(events)); };
      status = new StatusLine();
    }
    const stats = await runSimulation(simulator, sink, {
      rate: flags.rate,
      count: flags.count,
      durationMs: flags.duration === undefined ? undefined : flags.duration * 1000,
      signal: abort.signal,
      onProgress: status ? (s) => status.update(formatSimulationStats(s)) : undefined,
    });
    status?.done(formatSimulationStats(stats));
    client?.destroy();
  });
}
