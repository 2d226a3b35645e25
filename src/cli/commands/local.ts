import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { createKinesisClient, createS3Client } from '../../aws.js';
import { loadRagConfig } from '../../config/rag-config.js';
import { type CaliError } from '../../errors.js';
import { reconcileSinks, readStreamPositions, type SinkReconciliation } from '../../local/reconcile.js';
import { ARCHIVE_BUCKET, DLQ_BUCKET, startLocalStack } from '../../local/stack.js';
import { S3ObjectStore } from '../../pipeline/sinks/object-store/s3-object-store.js';
import { LogSimulator } from '../../simulator/generator.js';
import { KinesisProducer } from '../../simulator/producer.js';
import { runSimulation, type SimulationStats } from '../../simulator/run.js';
import { intOption, numberOption } from '../options.js';
import { shutdownSignal } from '../shutdown.js';
import { addSimulatorOptions, simulatorOptionsFrom, toProducerEntries, type SimulatorFlags } from '../simulator-options.js';
import { StatusLine } from '../status-line.js';
import { ingestRunbooks } from './kb.js';

interface LocalFlags extends SimulatorFlags {
  alertsFile: string;
  shards: number;
  consumers: number;
  duration?: number;
  summary?: string;
  metricsPort: number;
}

/** What the consumer processes report in their JSON log lines, summed. */
class ConsumerView {
  processed = 0;
  valid = 0;
  invalid = 0;
  alerts = 0;
  readonly owners = new Map<string, string>();
  readonly latenciesMs: number[] = [];
  readonly lastSequence = new Map<string, string>();

  onLine(line: string, print: (text: string) => void): void {
    let event: { msg?: string; workerId?: string; leaseKey?: string; [key: string]: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    switch (event.msg) {
      case 'batch.processed':
        this.processed += Number(event.records);
        this.valid += Number(event.valid);
        this.invalid += Number(event.invalid);
        if (typeof event.oldestArrivalAgeMs === 'number' && this.latenciesMs.length < 100_000) this.latenciesMs.push(event.oldestArrivalAgeMs);
        if (event.leaseKey) this.lastSequence.set(event.leaseKey, String(event.lastSequenceNumber));
        break;
      case 'lease.taken':
        if (event.leaseKey && event.workerId) this.owners.set(event.leaseKey, event.workerId);
        break;
      case 'lease.released':
      case 'lease.handed_over':
      case 'lease.lost':
        if (event.leaseKey && this.owners.get(event.leaseKey) === event.workerId) this.owners.delete(event.leaseKey);
        break;
      case 'metrics.listening':
        print(`${event.workerId ?? 'consumer'}: metrics, /status, /readyz at ${String(event.url)}`);
        break;
      case 'alert.local':
        if (event.kind === 'alert') this.alerts++;
        print(String(event.text));
        break;
      default:
        if (typeof event.level === 'number' && event.level >= 40) print(`${event.workerId ?? 'consumer'}: ${event.msg ?? line}`);
    }
  }

  leaseText(): string {
    const perWorker = new Map<string, number>();
    for (const owner of this.owners.values()) perWorker.set(owner, (perWorker.get(owner) ?? 0) + 1);
    return [...perWorker.entries()].sort().map(([w, n]) => `${w}:${n}`).join(' ') || 'none yet';
  }

  percentile(p: number): number | undefined {
    if (this.latenciesMs.length === 0) return undefined;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }
}

export function registerLocal(program: Command): void {
  const command = program
    .command('local')
    .description('run CALI on the embedded stack: Kinesis, DynamoDB and S3 on 127.0.0.1, the log simulator producing, and K consumer processes')
    .addOption(new Option('--shards <n>', 'shards in the stream').argParser(intOption(1, 200)).default(4))
    .addOption(new Option('--consumers <k>', 'consumer processes (`cali run`); watch them share the shards').argParser(intOption(1, 16)).default(1))
    .addOption(new Option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)').argParser(numberOption(1)))
    .addOption(new Option('--metrics-port <port>', 'CALI_METRICS_PORT of the first consumer; consumer k listens on port + k - 1 (0: each picks a free port)').argParser(intOption(0, 65_535)).default(9464))
    .option('--alerts-file <file>', 'where the consumers append the alerts they render (no Slack in local mode)', '.cali/alerts.txt')
    .option('--summary <file>', 'write a JSON summary on exit: produced, processed, invalid, DLQ, duplicates and lost (reconciled from the archive and DLQ), throughput, latency')
    .addHelpText('after', `
What you see: a status line with the records produced (errors, invalid ones,
the storming scenario), the records the consumers processed, who holds which
shards, and the end-to-end latency; alerts and digests as the consumers send
them (rendered as text, and appended to --alerts-file).
Ctrl-C stops the simulator, lets the consumers drain and checkpoint, stops them
and the stack.`);
  addSimulatorOptions(command, 200).action((flags: LocalFlags) => runLocal(flags));
}

const RUNBOOKS_DIR = fileURLToPath(new URL('../../../../runbooks/', import.meta.url));

/**
 * One embedded knowledge base per consumer (the flat store has one writer per
 * directory), each seeded with the shipped runbooks, made afresh every run.
 */
async function seedKnowledgeBases(consumers: number): Promise<string[]> {
  const root = resolve('.cali', 'local-kb');
  await rm(root, { recursive: true, force: true });
  const dirs: string[] = [];
  for (let i = 0; i < consumers; i++) {
    const dir = join(root, `consumer-${i + 1}`);
    await ingestRunbooks(loadRagConfig({ ...process.env, CALI_RAG_DIR: dir }), [RUNBOOKS_DIR], () => undefined);
    dirs.push(dir);
  }
  return dirs;
}

function startConsumerProcess(index: number, env: Record<string, string>, view: ConsumerView, print: (text: string) => void, metricsPort: number): ChildProcess {
  const cli = fileURLToPath(new URL('../main.js', import.meta.url));
  const child = spawn(process.execPath, ['--', cli, 'run'], {
    env: {
      ...process.env, ...env, CALI_WORKER_ID: `consumer-${index + 1}`, CALI_LOG_LEVEL: 'debug', CALI_WORKER_THREADS: '1',
      CALI_METRICS_PORT: String(metricsPort === 0 ? 0 : metricsPort + index), CALI_METRICS_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => view.onLine(line, print));
  createInterface({ input: child.stderr! }).on('line', (line) => print(`consumer-${index + 1}: ${line}`));
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function runLocal(flags: LocalFlags): Promise<void> {
  const abort = new AbortController();
  void shutdownSignal().then(() => abort.abort());
  const started = performance.now();
  const status = new StatusLine();
  const print = (text: string): void => status.print(text);
  process.stderr.write(`local: starting the embedded stack (${flags.shards} shards)...\n`);
  const stack = await startLocalStack({ shards: flags.shards, streamName: 'cali-logs', appName: 'cali' });
  const client = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const view = new ConsumerView();
  const consumers: ChildProcess[] = [];
  let crash: CaliError | undefined;
  void stack.crashed.then((error) => { crash = error; abort.abort(); });
  try {
    process.stderr.write(`local: stack ready in ${((performance.now() - started) / 1000).toFixed(1)} s: Kinesis ${stack.endpoints.kinesis}, DynamoDB ${stack.endpoints.dynamodb}, S3 ${stack.endpoints.s3}\n`);
    process.stderr.write(`local: alerts are printed here and appended to ${flags.alertsFile}\n`);
    const knowledgeBases = await seedKnowledgeBases(flags.consumers);
    process.stderr.write(`local: each consumer's knowledge base holds the runbooks of ${RUNBOOKS_DIR}; alerts show retrieval-only analyses\n`);
    for (let i = 0; i < flags.consumers; i++) {
      consumers.push(startConsumerProcess(i, {
        ...stack.env, CALI_ALERTS_FILE: flags.alertsFile, CALI_ENVIRONMENT: process.env.CALI_ENVIRONMENT ?? 'local', CALI_RAG_DIR: knowledgeBases[i]!,
      }, view, print, flags.metricsPort));
    }
    // Produce once every shard has a consumer, so the latency measured is the steady state's.
    await waitUntil(() => view.owners.size >= flags.shards, abort.signal, 30_000);
    const producingFrom = performance.now();
    let drainedAt = producingFrom;
    const producer = new KinesisProducer(client, { streamName: stack.env.CALI_STREAM_NAME });
    let stats: SimulationStats = { produced: 0, valid: 0, errors: 0, invalid: 0, elapsedMs: 0, storm: undefined };
    const line = (): string => {
      const seconds = Math.max((performance.now() - started) / 1000, 0.001);
      const p99 = view.percentile(99);
      return `local: produced ${stats.produced} (${stats.errors} errors, ${stats.invalid} invalid)`
        + ` | processed ${view.processed} (${Math.round(view.processed / seconds)}/s, ${view.invalid} to DLQ)`
        + ` | leases ${view.leaseText()}`
        + ` | alerts ${view.alerts}`
        + (p99 === undefined ? '' : ` | latency p99 ${Math.round(p99)} ms`)
        + (stats.storm ? ` | storm: ${stats.storm}` : '');
    };
    const refresh = setInterval(() => status.update(line()), 1000);
    try {
      stats = await runSimulation(new LogSimulator(simulatorOptionsFrom(flags)), async (events) => {
        await producer.put(toProducerEntries(events));
      }, {
        rate: flags.rate,
        durationMs: flags.duration === undefined ? undefined : flags.duration * 1000,
        signal: abort.signal,
        onProgress: (s) => { stats = s; },
      });
      await waitUntil(() => view.processed >= stats.produced, abort.signal, 30_000);
      drainedAt = performance.now();
    } finally {
      clearInterval(refresh);
    }
    status.done(line());
    await Promise.all(consumers.map(stopProcess));
    if (crash) throw crash;
    if (flags.summary) {
      process.stderr.write('local: reconciling the archive and the DLQ against the stream...\n');
      const s3 = createS3Client({ region: stack.region, endpoint: stack.endpoints.s3, credentials: stack.credentials });
      let reconciliation: SinkReconciliation;
      try {
        reconciliation = await reconcileSinks(
          await readStreamPositions(client, stack.env.CALI_STREAM_NAME),
          new S3ObjectStore(s3, ARCHIVE_BUCKET, 'archive/'),
          new S3ObjectStore(s3, DLQ_BUCKET, 'dlq/'),
        );
      } finally {
        s3.destroy();
      }
      const elapsedSeconds = (performance.now() - started) / 1000;
      const summary = {
        shards: flags.shards,
        consumers: flags.consumers,
        elapsedSeconds,
        produced: stats.produced,
        producedErrors: stats.errors,
        producedInvalid: stats.invalid,
        processed: view.processed,
        invalid: view.invalid,
        archived: reconciliation.archived,
        dlq: reconciliation.deadLettered,
        duplicates: reconciliation.duplicates,
        lost: reconciliation.lost,
        alerts: view.alerts,
        // From the first record produced to the last one processed: start-up and reconciliation excluded.
        throughputPerSecond: view.processed / Math.max((drainedAt - producingFrom) / 1000, 0.001),
        latencyMs: { p50: view.percentile(50), p99: view.percentile(99) },
      };
      await writeFile(flags.summary, `${JSON.stringify(summary, null, 2)}\n`);
      process.stderr.write(`local: summary written to ${flags.summary} (lost ${summary.lost}, duplicates ${summary.duplicates})\n`);
    }
  } finally {
    await Promise.all(consumers.map(stopProcess));
    client.destroy();
    await stack.stop();
  }
}

async function waitUntil(done: () => boolean, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && !signal.aborted && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
}
