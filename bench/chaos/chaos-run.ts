/**
 * The chaos run: the embedded stack with S shards, K `cali run` processes and
 * the simulator producing (a storm and invalid records included), while a
 * seeded schedule SIGKILLs consumers (and starts replacements), SIGTERMs
 * others, kills worker threads mid-batch (SIGUSR2, see src/cli/commands/run.ts),
 * splits and merges shards, and every consumer's lease table calls are
 * throttled, failed and made ambiguous client-side; the Slack stand-in they
 * alert to answers some requests 429 (Retry-After) or 500. Then production
 * stops, the consumers drain, the archive and DLQ are reconciled with the
 * stream, and the alerts with the ERROR/FATAL fingerprints produced.
 *
 * Used by `npm run chaos` (bench/chaos/main.ts) and, shorter, by
 * test/chaos.test.ts. It reports; the callers judge.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ListShardsCommand, MergeShardsCommand, SplitShardCommand, DescribeStreamSummaryCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { createKinesisClient, createS3Client } from '../../src/aws.js';
import { DynamoDbLeaseStore } from '../../src/lease/dynamodb-lease-store.js';
import { seededRandom } from '../../src/lease/faulty-lease-store.js';
import { isShardEnd } from '../../src/lease/lease.js';
import { readStreamPositions, reconcileSinks } from '../../src/local/reconcile.js';
import { SlackStandIn } from '../../src/local/slack-stand-in.js';
import { ARCHIVE_BUCKET, DLQ_BUCKET, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { S3ObjectStore } from '../../src/pipeline/sinks/object-store/s3-object-store.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { KinesisProducer } from '../../src/simulator/producer.js';
import { runSimulation, type SimulationStats } from '../../src/simulator/run.js';
import { sleep } from '../../src/sleep.js';
import { compileFingerprinter, levelClass } from '../../src/workers/fingerprint/fingerprint.js';
import { cliPath } from '../cli-path.js';

export type ChaosAction = 'sigkill' | 'sigterm' | 'thread_kill' | 'split' | 'merge';

export interface ChaosOptions {
  readonly shards: number;
  readonly consumers: number;
  /** How long the simulator produces while actions run. */
  readonly durationMs: number;
  /** Records per second produced. */
  readonly rate: number;
  readonly seed: number;
  /** CALI_FAILOVER_MS of the consumers. */
  readonly failoverMs: number;
  /** One action every this long; the first after a warm-up of one interval. */
  readonly actionIntervalMs: number;
  /** Actions in this order, repeated; the victim of each is drawn from the seed. */
  readonly actions: readonly ChaosAction[];
  readonly leaseFaults: { readonly throttleRate: number; readonly serverErrorRate: number; readonly ambiguousRate: number };
  /** Shares of Slack requests answered 429 (Retry-After: 1) and 500. */
  readonly slackFaults: { readonly rateLimitedRate: number; readonly serverErrorRate: number };
  /** How long the consumers get to catch up after production stops. */
  readonly drainTimeoutMs: number;
  readonly log?: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = {
  shards: 8,
  consumers: 3,
  durationMs: 120_000,
  rate: 150,
  seed: 1,
  failoverMs: 4_000,
  actionIntervalMs: 8_000,
  actions: ['sigkill', 'thread_kill', 'split', 'sigterm', 'thread_kill', 'merge', 'sigkill', 'sigterm'],
  leaseFaults: { throttleRate: 0.05, serverErrorRate: 0.02, ambiguousRate: 0.01 },
  slackFaults: { rateLimitedRate: 0.1, serverErrorRate: 0.1 },
  drainTimeoutMs: 90_000,
};

export interface ActionRecord {
  readonly action: ChaosAction;
  readonly atMs: number;
  readonly target: string;
  /** sigkill: kill -> first batch of each of the victim's shards processed by another consumer. */
  readonly failoverMs?: readonly number[];
  /** sigkill: kill -> each of those leases taken by another consumer (the part of failoverMs that is leasing). */
  readonly failoverTakenMs?: readonly number[];
  /** sigterm: lease released (or, if it was not, the victim's exit) -> taken by another consumer, per shard held at the signal. */
  readonly handoffGapMs?: readonly number[];
  /** sigterm: leases held at the signal that the victim did not release (they wait for expiry). */
  readonly unreleased?: number;
  /** sigterm: the exit code (0 = clean shutdown). */
  readonly exitCode?: number | null;
}

export interface ChaosReport {
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly produced: SimulationStats;
  readonly elapsedMs: number;
  readonly actions: readonly ActionRecord[];
  /** Stream records (positions) at the end, over all shards, open and closed. */
  readonly streamRecords: number;
  readonly shardsAtEnd: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Shards with duplicates, and whether each had a reason (a SIGKILLed holder or a lost lease). */
  readonly duplicatesByShard: Readonly<Record<string, number>>;
  readonly unexplainedDuplicateShards: readonly string[];
  readonly deadLetterPositions: number;
  readonly workerCrashDeadLetters: number;
  /** Worker threads told to die in the middle of their next batch (SIGUSR2). */
  readonly threadKills: number;
  readonly workerCrashesRetried: number;
  /** The distinct errors of those crashes (a thread killed on purpose says "worker exited"). */
  readonly workerCrashErrors: readonly string[];
  readonly leaseFaultsInjected: { readonly throttles: number; readonly serverErrors: number; readonly ambiguous: number };
  readonly leasesLost: number;
  /** Consumers that exited without being told to, with the end of their stderr. */
  readonly unexpectedExits: readonly { readonly id: string; readonly code: number | null; readonly signal: string | null; readonly stderr: string }[];
  /** Leases still owned by a consumer that is not running, after the drain. */
  readonly leasesOwnedByDead: readonly string[];
  /** Shards whose last record no consumer processed within the drain timeout. */
  readonly shardsBehind: readonly string[];
  readonly alerts: {
    /** ERROR/FATAL fingerprints produced: each must be alerted (the default rules), within one window. */
    readonly expectedFingerprints: number;
    /** All fingerprints alerted, WARN ones above their rate included. */
    readonly alertedFingerprints: number;
    readonly missing: readonly string[];
    /** Fingerprints alerted more than once in the run (shorter than a window): must be none. */
    readonly duplicated: readonly string[];
    readonly slackRequests: number;
    readonly slackRateLimited: number;
    readonly slackServerErrors: number;
  };
  readonly failoverP99Ms: number | undefined;
  readonly handoffGapMaxMs: number | undefined;
}

interface LogLine {
  readonly msg: string;
  readonly time: number;
  readonly leaseKey?: string;
  readonly [key: string]: unknown;
}

const KEPT_EVENTS = new Set(['batch.processed', 'lease.taken', 'lease.released', 'lease.lost', 'worker.crashed', 'chaos.thread_crash_armed', 'chaos.lease_faults']);

class Consumer {
  readonly lines: LogLine[] = [];
  /** Set when the run signals it to stop (SIGTERM, SIGKILL); an exit without it is a crash. */
  stopRequested = false;
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(readonly id: string, cli: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--', cli, 'run'], { env: { ...env, CALI_WORKER_ID: id }, stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (KEPT_EVENTS.has(line.msg)) this.lines.push(line);
    });
    this.child.stderr.on('data', (chunk: Buffer) => { if (this.stderr.length < 20_000) this.stderr += chunk.toString(); });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null> {
    this.stopRequested = true;
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  events(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }
}

function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}

async function openShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName, ShardFilter: { Type: 'AT_LATEST' } }));
  return Shards.sort((a, b) => (BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1));
}

async function waitActive(kinesis: KinesisClient, streamName: string): Promise<void> {
  await waitUntil(async () => {
    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
  }, 30_000, 100);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const cli = cliPath();
  const streamName = 'chaos';
  const appName = 'chaos-leases';
  const started = Date.now();
  const stack: LocalStack = await startLocalStack({ shards: options.shards, streamName, appName });
  const kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const store = DynamoDbLeaseStore.create({ region: stack.region, endpoint: stack.endpoints.dynamodb, credentials: stack.credentials, tableName: appName });
  const slack = new SlackStandIn();
  const slackRandom = seededRandom(options.seed + 7);
  slack.answerFor = () => {
    const roll = slackRandom();
    if (roll < options.slackFaults.rateLimitedRate) return { status: 429, retryAfterSeconds: 1 };
    if (roll < options.slackFaults.rateLimitedRate + options.slackFaults.serverErrorRate) return { status: 500 };
    return undefined;
  };
  await slack.start();
  const consumerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...stack.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CALI_STREAM_NAME: streamName,
    CALI_APP_NAME: appName,
    CALI_FAILOVER_MS: String(options.failoverMs),
    CALI_LOG_LEVEL: 'debug',
    CALI_WORKER_THREADS: '2',
    // Several consumers on one host: each takes a free port for its metrics server.
    CALI_METRICS_PORT: '0',
    CALI_METRICS_HOST: '127.0.0.1',
    CALI_CHAOS_LEASE_THROTTLE_RATE: String(options.leaseFaults.throttleRate),
    CALI_CHAOS_LEASE_SERVER_ERROR_RATE: String(options.leaseFaults.serverErrorRate),
    CALI_CHAOS_LEASE_AMBIGUOUS_RATE: String(options.leaseFaults.ambiguousRate),
    SLACK_WEBHOOK_URL: slack.webhookUrl,
    CALI_ENVIRONMENT: 'chaos',
  };
  const consumers: Consumer[] = [];
  let nextId = 1;
  const startConsumer = (): Consumer => {
    const id = `chaos-${nextId}`;
    // Each process its own fault seed: the same run replays, but consumers do not fail in lockstep.
    const consumer = new Consumer(id, cli, { ...consumerEnv, CALI_CHAOS_SEED: String(options.seed * 1000 + nextId) });
    nextId++;
    consumers.push(consumer);
    log(`start ${id}`);
    return consumer;
  };
  const live = (): Consumer[] => consumers.filter((c) => c.alive);
  const ownersNow = async (): Promise<Map<string, string | undefined>> => {
    const { leases } = await store.listLeases();
    return new Map(leases.filter((l) => !isShardEnd(l)).map((l) => [l.leaseKey, l.leaseOwner]));
  };
  const batches = (): LogLine[] => consumers.flatMap((c) => c.events('batch.processed'));

  const fingerprint = compileFingerprinter();
  const expectedFingerprints = new Set<string>();
  /** Root alerts delivered per fingerprint: only they carry "(xN, fingerprint …)". */
  const rootAlerts = (): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const request of slack.delivered) {
      const fp = /\(x\d+, fingerprint ([0-9a-f]{16})\)/.exec(String(request.body.text ?? ''))?.[1];
      if (fp !== undefined) counts.set(fp, (counts.get(fp) ?? 0) + 1);
    }
    return counts;
  };
  const producing = new AbortController();
  let produced: SimulationStats | undefined;
  let production: Promise<SimulationStats> | undefined;
  const actions: ActionRecord[] = [];
  const followUps: Promise<void>[] = [];
  try {
    for (let i = 0; i < options.consumers; i++) startConsumer();
    const covered = await waitUntil(async () => {
      const owners = await ownersNow();
      return owners.size >= options.shards && [...owners.values()].every((o) => o !== undefined) ? true : undefined;
    }, 60_000);
    if (!covered) throw new Error(`consumers did not take all ${options.shards} leases within 60 s: ${consumers.map((c) => c.stderr).join('\n')}`);
    log('all leases held; producing');

    const producer = new KinesisProducer(kinesis, { streamName });
    const simulator = new LogSimulator({
      seed: options.seed,
      errorRatio: 0.1,
      invalidRatio: 0.02,
      storm: { periodMs: Math.max(10_000, Math.floor(options.durationMs / 2)), durationMs: 5_000, multiplier: 50 },
    });
    let key = 0;
    production = runSimulation(simulator, async (events) => {
      for (const e of events) {
        if (e.kind !== 'valid') continue;
        const level = levelClass(e.record.level);
        if (level === 'error' || level === 'fatal') expectedFingerprints.add(fingerprint(e.record).fingerprint);
      }
      await producer.put(events.map((e) => ({ data: e.data, partitionKey: `p${options.seed}-${key++}` })));
    }, { rate: options.rate, durationMs: options.durationMs, signal: producing.signal });

    const productionEnds = Date.now() + options.durationMs;
    for (let step = 0; Date.now() + options.actionIntervalMs < productionEnds; step++) {
      await sleep(options.actionIntervalMs);
      const action = options.actions[step % options.actions.length]!;
      const atMs = Date.now();
      switch (action) {
        case 'sigkill': {
          const victim = pick(live());
          if (victim === undefined) break;
          const held = [...(await ownersNow())].filter(([, owner]) => owner === victim.id).map(([leaseKey]) => leaseKey);
          const killedAt = Date.now();
          await victim.stop('SIGKILL');
          log(`SIGKILL ${victim.id} holding ${held.join(' ') || 'nothing'}`);
          startConsumer();
          const record: { failoverMs?: number[]; failoverTakenMs?: number[] } = {};
          actions.push(Object.assign(record, { action, atMs, target: victim.id }));
          followUps.push(waitUntil(() => {
            const taken = consumers.filter((c) => c !== victim).flatMap((c) => c.events('lease.taken'));
            const takenAt = held.map((leaseKey) => taken.find((t) => t.leaseKey === leaseKey && t.time >= killedAt)?.time);
            const resumed = held.map((leaseKey) => batches().find((b) => b.leaseKey === leaseKey && b.time >= killedAt && b.workerId !== victim.id)?.time);
            if (!resumed.every((t) => t !== undefined) || !takenAt.every((t) => t !== undefined)) return undefined;
            return { resumed: (resumed as number[]).map((t) => t - killedAt), taken: (takenAt as number[]).map((t) => t - killedAt) };
          }, options.failoverMs + 60_000).then((times) => {
            if (times) Object.assign(record, { failoverMs: times.resumed, failoverTakenMs: times.taken });
          }));
          break;
        }
        case 'sigterm': {
          const victim = pick(live());
          if (victim === undefined) break;
          const held = [...(await ownersNow())].filter(([, owner]) => owner === victim.id).map(([leaseKey]) => leaseKey);
          const exitCode = await victim.stop('SIGTERM');
          const exitedAt = Date.now();
          const released = new Map(victim.events('lease.released').filter((e) => e.time >= atMs).map((e) => [e.leaseKey!, e.time]));
          // Every lease it held at the signal counts: one it did not release is measured from its exit (it then waits for expiry).
          const unreleased = held.filter((leaseKey) => !released.has(leaseKey));
          log(`SIGTERM ${victim.id}: exit ${exitCode}, released ${[...released.keys()].join(' ') || 'nothing'}${unreleased.length > 0 ? `, NOT released ${unreleased.join(' ')}` : ''}`);
          startConsumer();
          const record: { handoffGapMs?: number[]; unreleased?: number } = { unreleased: unreleased.length };
          actions.push(Object.assign(record, { action, atMs, target: victim.id, exitCode }));
          followUps.push(waitUntil(async () => {
            // A shard that ended meanwhile is finished, not handed over.
            const open = await ownersNow();
            const measured = [...new Set([...held, ...released.keys()])].filter((leaseKey) => open.has(leaseKey));
            const taken = consumers.filter((c) => c !== victim).flatMap((c) => c.events('lease.taken'));
            const gaps = measured.map((leaseKey) => {
              const from = released.get(leaseKey) ?? exitedAt;
              const at = taken.find((t) => t.leaseKey === leaseKey && t.time >= from)?.time;
              return at === undefined ? undefined : at - from;
            });
            return gaps.every((g) => g !== undefined) ? (gaps as number[]) : undefined;
          }, 60_000).then((gaps) => { if (gaps) record.handoffGapMs = gaps; }));
          break;
        }
        case 'thread_kill': {
          const victim = pick(live());
          if (victim === undefined) break;
          victim.child.kill('SIGUSR2');
          actions.push({ action, atMs, target: victim.id });
          log(`SIGUSR2 ${victim.id} (its next batch's thread dies mid-batch)`);
          break;
        }
        case 'split': {
          const shard = pick(await openShards(kinesis, streamName));
          if (shard === undefined) break;
          const range = shard.HashKeyRange!;
          const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
          await kinesis.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: shard.ShardId, NewStartingHashKey: middle.toString() }));
          await waitActive(kinesis, streamName);
          actions.push({ action, atMs, target: shard.ShardId! });
          log(`split ${shard.ShardId}`);
          break;
        }
        case 'merge': {
          const open = await openShards(kinesis, streamName);
          const adjacent = open.slice(1).map((s, i) => [open[i]!, s] as const)
            .filter(([a, b]) => BigInt(a.HashKeyRange!.EndingHashKey!) + 1n === BigInt(b.HashKeyRange!.StartingHashKey!));
          const pair = pick(adjacent);
          if (pair === undefined) break;
          await kinesis.send(new MergeShardsCommand({ StreamName: streamName, ShardToMerge: pair[0].ShardId, AdjacentShardToMerge: pair[1].ShardId }));
          await waitActive(kinesis, streamName);
          actions.push({ action, atMs, target: `${pair[0].ShardId}+${pair[1].ShardId}` });
          log(`merge ${pair[0].ShardId} ${pair[1].ShardId}`);
          break;
        }
      }
    }
    produced = await production;
    log(`produced ${produced.produced} (${produced.invalid} invalid); draining`);

    const stream = await readStreamPositions(kinesis, streamName);
    const lastOf = new Map([...stream].filter(([, seqs]) => seqs.length > 0).map(([shard, seqs]) => [shard, seqs.at(-1)!]));
    const caughtUp = (): string[] => [...lastOf].filter(([shard, last]) => !batches().some((b) => b.leaseKey === shard && b.lastSequenceNumber === last)).map(([shard]) => shard);
    await waitUntil(() => (caughtUp().length === 0 ? true : undefined), options.drainTimeoutMs, 500);
    await Promise.all(followUps);
    // Alerts are paced (about one per second per destination) and some answers are 429/500: give them time.
    await waitUntil(() => ([...expectedFingerprints].every((fp) => rootAlerts().has(fp)) ? true : undefined), 90_000, 500);
    const shardsBehind = caughtUp();
    // Ownership after failover: every lease belongs to a running consumer or to no one.
    const liveIds = new Set(live().map((c) => c.id));
    const leasesOwnedByDead = [...(await ownersNow())].filter(([, owner]) => owner !== undefined && !liveIds.has(owner)).map(([leaseKey, owner]) => `${leaseKey}:${owner}`);

    const unexpectedExits = consumers.filter((c) => !c.alive && !c.stopRequested)
      .map((c) => ({ id: c.id, code: c.child.exitCode, signal: c.child.signalCode, stderr: c.stderr.slice(-2_000) }));
    await Promise.all(live().map((c) => c.stop('SIGTERM')));
    const s3 = createS3Client({ region: stack.region, endpoint: stack.endpoints.s3, credentials: stack.credentials });
    let reconciliation;
    try {
      reconciliation = await reconcileSinks(stream, new S3ObjectStore(s3, ARCHIVE_BUCKET, 'archive/'), new S3ObjectStore(s3, DLQ_BUCKET, 'dlq/'));
    } finally {
      s3.destroy();
    }
    const deadLetterPositions = new Set(reconciliation.deadLetters.map((d) => `${d.shardId}/${d.sequenceNumber}/${d.subSequenceNumber}`)).size;
    const killedHolders = new Set<string>();
    for (const c of consumers) {
      if (c.child.signalCode !== 'SIGKILL') continue;
      for (const b of c.events('batch.processed')) if (b.leaseKey) killedHolders.add(b.leaseKey);
    }
    const lostLeaseShards = new Set(consumers.flatMap((c) => c.events('lease.lost')).map((e) => e.leaseKey));
    const { duplicatesByShard } = reconciliation;
    const failovers = actions.flatMap((a) => a.failoverMs ?? []);
    const gaps = actions.flatMap((a) => a.handoffGapMs ?? []);
    const faultLines = consumers.flatMap((c) => c.events('chaos.lease_faults'));
    return {
      options: { ...options, log: undefined } as Omit<ChaosOptions, 'log'>,
      produced,
      elapsedMs: Date.now() - started,
      actions,
      streamRecords: reconciliation.expected,
      shardsAtEnd: stream.size,
      lost: reconciliation.lost,
      duplicates: reconciliation.duplicates,
      duplicatesByShard,
      unexplainedDuplicateShards: Object.keys(duplicatesByShard).filter((shard) => !killedHolders.has(shard) && !lostLeaseShards.has(shard)),
      deadLetterPositions,
      workerCrashDeadLetters: reconciliation.deadLetters.filter((d) => d.reason.code === 'worker_crash').length,
      threadKills: consumers.flatMap((c) => c.events('chaos.thread_crash_armed')).length,
      workerCrashesRetried: consumers.flatMap((c) => c.events('worker.crashed')).length,
      workerCrashErrors: [...new Set(consumers.flatMap((c) => c.events('worker.crashed')).map((e) => `${String(e.error)} (${String(e.records)} records)`))],
      leaseFaultsInjected: {
        throttles: faultLines.reduce((n, e) => n + Number(e.throttles), 0),
        serverErrors: faultLines.reduce((n, e) => n + Number(e.serverErrors), 0),
        ambiguous: faultLines.reduce((n, e) => n + Number(e.ambiguous), 0),
      },
      leasesLost: consumers.flatMap((c) => c.events('lease.lost')).length,
      unexpectedExits,
      leasesOwnedByDead,
      shardsBehind,
      alerts: {
        expectedFingerprints: expectedFingerprints.size,
        alertedFingerprints: rootAlerts().size,
        missing: [...expectedFingerprints].filter((fp) => !rootAlerts().has(fp)),
        duplicated: [...rootAlerts()].filter(([, n]) => n > 1).map(([fp, n]) => `${fp} x${n}`),
        slackRequests: slack.requests.length,
        slackRateLimited: slack.requests.filter((r) => r.status === 429).length,
        slackServerErrors: slack.requests.filter((r) => r.status === 500).length,
      },
      failoverP99Ms: percentile(failovers, 99),
      handoffGapMaxMs: gaps.length === 0 ? undefined : Math.max(...gaps),
    };
  } finally {
    producing.abort();
    await production?.catch(() => undefined);
    await Promise.all(consumers.map((c) => c.stop('SIGKILL')));
    store.close();
    kinesis.destroy();
    await slack.stop();
    await stack.stop();
  }
}
