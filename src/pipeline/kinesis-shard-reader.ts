/**
 * Reads one shard with GetRecords, for the lease layer's ShardConsumer:
 * iterator from the checkpoint, adaptive pacing (read again at once while
 * behind, wait `idleMs` once caught up), jittered backoff on throttling and
 * 5xx, a fresh iterator after the last record read when one expires, and the
 * child shards reported when a closed shard is fully read.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { isSentinel, type Checkpoint } from '../lease/lease.js';
import type { ShardReader, ShardReadResult, StreamRecord } from '../lease/record-processor.js';
import { sleep } from '../sleep.js';
import { DEFAULT_IDLE_MS, DEFAULT_MAX_RECORDS } from './reader-settings.js';

export interface KinesisShardReaderOptions {
  readonly streamName: string;
  /** GetRecords Limit (AWS maximum 10,000). */
  readonly maxRecords?: number;
  /** Pause between reads once the shard is caught up (DEFAULT_IDLE_MS says why 250 ms). */
  readonly idleMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
}

const RETRIABLE = new Set([
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  'LimitExceededException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
]);

export function isRetriableKinesisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: unknown }).code;
  return RETRIABLE.has(error.name) || (typeof code === 'string' && RETRIABLE.has(code)) || (status !== undefined && status >= 500);
}


const EMPTY: ShardReadResult = { records: [], millisBehindLatest: undefined };

export class KinesisShardReader implements ShardReader {
  private iterator: string | undefined;
  /** The last record handed out: where a replacement iterator starts after. */
  private lastSequenceNumber: string | undefined;
  private caughtUp = false;
  private closed = false;
  private readonly maxRecords: number;
  private readonly idleMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    private readonly client: Pick<KinesisClient, 'send'>,
    private readonly options: KinesisShardReaderOptions,
    private readonly shardId: string,
    private readonly from: Checkpoint,
    private readonly atTimestampMs?: number,
  ) {
    this.maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.backoffMaxMs = options.backoffMaxMs ?? 10_000;
  }

  close(): void {
    this.closed = true;
  }

  async read(signal: AbortSignal): Promise<ShardReadResult> {
    if (this.caughtUp) await sleep(this.idleMs, signal);
    for (let attempt = 0; !signal.aborted && !this.closed; attempt++) {
      try {
        this.iterator ??= await this.getIterator();
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: this.maxRecords }), { abortSignal: signal });
        const records: StreamRecord[] = (page.Records ?? []).map((r) => ({
          data: r.Data ?? new Uint8Array(0),
          sequenceNumber: r.SequenceNumber!,
          partitionKey: r.PartitionKey ?? '',
          approximateArrivalMs: r.ApproximateArrivalTimestamp?.getTime(),
        }));
        const last = records.at(-1);
        if (last) this.lastSequenceNumber = last.sequenceNumber;
        this.iterator = page.NextShardIterator;
        this.caughtUp = records.length < this.maxRecords && (page.MillisBehindLatest ?? 0) === 0;
        if (this.iterator === undefined) {
          const childShards = (page.ChildShards ?? []).map((child) => ({
            shardId: child.ShardId!,
            parentShardIds: child.ParentShards ?? [this.shardId],
            startingHashKey: child.HashKeyRange?.StartingHashKey,
            endingHashKey: child.HashKeyRange?.EndingHashKey,
          }));
          return { records, millisBehindLatest: page.MillisBehindLatest, childShards };
        }
        return { records, millisBehindLatest: page.MillisBehindLatest };
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ExpiredIteratorException) {
          this.iterator = undefined;
          continue;
        }
        if (!isRetriableKinesisError(error)) throw error;
        const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(attempt, 8));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), signal);
      }
    }
    return EMPTY;
  }

  private async getIterator(): Promise<string> {
    const base = { StreamName: this.options.streamName, ShardId: this.shardId };
    let input: GetShardIteratorCommandInput;
    if (this.lastSequenceNumber !== undefined) {
      input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.lastSequenceNumber };
    } else if (!isSentinel(this.from.sequenceNumber)) {
      // Inside a KPL aggregate, the aggregate is read again and its done sub-records are skipped downstream.
      input = this.from.subSequenceNumber > 0
        ? { ...base, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: this.from.sequenceNumber }
        : { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.from.sequenceNumber };
    } else if (this.from.sequenceNumber === 'AT_TIMESTAMP') {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(this.atTimestampMs ?? Date.now()) };
    } else if (this.from.sequenceNumber === 'LATEST') {
      input = { ...base, ShardIteratorType: 'LATEST' };
    } else {
      input = { ...base, ShardIteratorType: 'TRIM_HORIZON' };
    }
    const { ShardIterator } = await this.client.send(new GetShardIteratorCommand(input));
    if (!ShardIterator) throw new Error(`GetShardIterator returned no iterator for ${this.shardId}`);
    return ShardIterator;
  }
}
