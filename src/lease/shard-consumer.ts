/**
 * One shard's consumer, an explicit state machine as in KCL:
 *
 *   waiting_on_parents -> initializing -> processing -> shard_ended
 *                                            |-> shutting_down (shutdown or planned handoff)
 *                                            |-> lease_lost
 *   ... -> shutdown_complete
 *
 * It reads, hands each batch to the processor and awaits it before reading
 * again (backpressure: one batch of a shard in flight, checkpoints in order).
 * A processor failure restarts it from the last checkpoint after a backoff.
 */
import type { LeaseConfig } from './config.js';
import { errorText, type LeaseEventBus } from './events.js';
import { LeaseLostError, type HeldLease } from './held-lease.js';
import { SHARD_END } from './lease.js';
import type { ChildShard, RecordCheckpointer, ShardReader, ShardReaderFactory, ShardRecordProcessor } from './record-processor.js';
import { sleep } from '../sleep.js';

export type ShardConsumerState =
  | 'waiting_on_parents'
  | 'initializing'
  | 'processing'
  | 'shard_ended'
  | 'shutting_down'
  | 'lease_lost'
  | 'shutdown_complete';

export interface ShardConsumerDeps {
  readonly processor: ShardRecordProcessor;
  readonly readerFactory: ShardReaderFactory;
  /** True once every parent is finished (SHARD_END) or has no lease. */
  readonly parentsDone: (parentShardIds: readonly string[]) => Promise<boolean>;
  /** Creates the child shards' leases; called at shard end before SHARD_END is checkpointed. */
  readonly createChildLeases: (children: readonly ChildShard[]) => Promise<void>;
  readonly config: LeaseConfig;
  readonly events: LeaseEventBus;
  readonly atTimestampMs?: number | undefined;
}

const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;


export class ShardConsumer {
  private currentState: ShardConsumerState = 'waiting_on_parents';
  private readonly stopController = new AbortController();
  /** Aborted on shutdown request or lease loss: ends waits and reads. */
  private readonly haltSignal: AbortSignal;
  private running: Promise<void> | undefined;
  private leaseLostNotified = false;
  /** The processor's shutdown/lease-lost callbacks only make sense once it was initialized. */
  private initialized = false;

  constructor(private readonly held: HeldLease, private readonly deps: ShardConsumerDeps) {
    this.haltSignal = AbortSignal.any([this.stopController.signal, held.lostSignal]);
    held.lostSignal.addEventListener('abort', () => { void this.notifyLeaseLost(); }, { once: true });
  }

  get state(): ShardConsumerState {
    return this.currentState;
  }

  get shardId(): string {
    return this.held.leaseKey;
  }

  /** Runs until shard end, loss or shutdown; resolves when the processor is done. */
  start(): Promise<void> {
    this.running ??= this.run().finally(() => { this.currentState = 'shutdown_complete'; });
    return this.running;
  }

  /** Finish the batch in flight, let the processor checkpoint, then stop. */
  requestShutdown(): Promise<void> {
    this.stopController.abort();
    return this.running ?? Promise.resolve();
  }

  private get checkpointer(): RecordCheckpointer {
    const held = this.held;
    return {
      get lastCheckpoint() { return held.lastCheckpoint; },
      checkpoint: (sequenceNumber, subSequenceNumber = 0) => held.checkpoint({ checkpoint: { sequenceNumber, subSequenceNumber } }),
    };
  }

  private async notifyLeaseLost(): Promise<void> {
    if (this.leaseLostNotified) return;
    this.leaseLostNotified = true;
    this.currentState = 'lease_lost';
    if (!this.initialized) return;
    try {
      await this.deps.processor.leaseLost({ shardId: this.shardId });
    } catch (error) {
      this.deps.events.emit('processor.failed', { leaseKey: this.shardId, callback: 'leaseLost', error: errorText(error) });
    }
  }

  private async run(): Promise<void> {
    const parents = this.held.lease.parentShardIds;
    while (parents.length > 0 && !this.haltSignal.aborted && !(await this.parentsFinished(parents))) {
      await sleep(this.deps.config.takeIntervalMs, this.haltSignal);
    }
    for (let attempt = 0; !this.haltSignal.aborted; attempt++) {
      try {
        const finished = await this.processFromCheckpoint();
        if (finished) return;
      } catch (error) {
        if (error instanceof LeaseLostError || this.held.isLost) return;
        if (this.haltSignal.aborted) break;
        this.deps.events.emit('processor.failed', { leaseKey: this.shardId, callback: 'processRecords', error: errorText(error) });
        await sleep(Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(attempt, 6)), this.haltSignal);
      }
    }
    if (this.held.isLost || !this.initialized) return;
    this.currentState = 'shutting_down';
    try {
      await this.deps.processor.shutdownRequested({ shardId: this.shardId }, this.checkpointer);
    } catch (error) {
      this.deps.events.emit('processor.failed', { leaseKey: this.shardId, callback: 'shutdownRequested', error: errorText(error) });
    }
  }

  /** A failed look at the parents' leases (throttling, an outage) means "not yet": the wait goes on. */
  private async parentsFinished(parents: readonly string[]): Promise<boolean> {
    try {
      return await this.deps.parentsDone(parents);
    } catch (error) {
      this.deps.events.emit('parents_check.failed', { leaseKey: this.shardId, error: errorText(error) });
      return false;
    }
  }

  /** One pass from the last checkpoint; true when the shard ended. */
  private async processFromCheckpoint(): Promise<boolean> {
    this.currentState = 'initializing';
    const from = this.held.lastCheckpoint;
    await this.deps.processor.initialize({ shardId: this.shardId, startingCheckpoint: from });
    this.initialized = true;
    const reader: ShardReader = this.deps.readerFactory({ shardId: this.shardId, from, atTimestampMs: this.deps.atTimestampMs });
    this.currentState = 'processing';
    try {
      while (!this.haltSignal.aborted) {
        const result = await reader.read(this.haltSignal);
        if (this.held.isLost) return true;
        if (result.records.length > 0) {
          await this.deps.processor.processRecords(
            { shardId: this.shardId, records: result.records, millisBehindLatest: result.millisBehindLatest },
            this.checkpointer,
          );
        }
        if (result.childShards) {
          await this.endShard(result.childShards);
          return true;
        }
      }
      return false;
    } finally {
      reader.close();
    }
  }

  private async endShard(children: readonly ChildShard[]): Promise<void> {
    const childShardIds = children.map((child) => child.shardId);
    await this.deps.createChildLeases(children);
    await this.deps.processor.shardEnded({ shardId: this.shardId, childShardIds }, this.checkpointer);
    await this.held.checkpoint({ checkpoint: SHARD_END, childShardIds });
    this.currentState = 'shard_ended';
    this.deps.events.emit('shard.ended', { leaseKey: this.shardId, childShardIds });
  }
}
