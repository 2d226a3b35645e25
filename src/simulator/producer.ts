/**
 * Puts simulated records on a Kinesis stream the way a careful producer does:
 * PutRecords in batches within the API limits (500 records, 5 MiB), resending
 * only the entries that failed (throttled or internal error) with jittered
 * exponential backoff, and giving up with a clear error after a bound.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { CaliError } from '../errors.js';

export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export interface ProducerEntry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

export interface ProducerOptions {
  readonly streamName: string;
  /** Attempts per entry before giving up (first try included). */
  readonly maxAttempts?: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface PutOutcome {
  readonly sent: number;
  /** Entries that were resent after a per-entry failure. */
  readonly retried: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits entries into PutRecords-sized batches, in order. */
export function* putRecordsBatches(entries: readonly ProducerEntry[]): Generator<ProducerEntry[]> {
  let batch: ProducerEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entry.data.byteLength + Buffer.byteLength(entry.partitionKey);
    if (batch.length > 0 && (batch.length === PUT_RECORDS_MAX_ENTRIES || bytes + size > PUT_RECORDS_MAX_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

export class KinesisProducer {
  private readonly maxAttempts: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly client: Pick<KinesisClient, 'send'>, private readonly options: ProducerOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseBackoffMs = options.baseBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
  }

  async put(entries: readonly ProducerEntry[]): Promise<PutOutcome> {
    let retried = 0;
    for (const batch of putRecordsBatches(entries)) retried += await this.putBatch(batch);
    return { sent: entries.length, retried };
  }

  private async putBatch(batch: ProducerEntry[]): Promise<number> {
    let pending: PutRecordsRequestEntry[] = batch.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey }));
    let retried = 0;
    for (let attempt = 1; ; attempt++) {
      const response = await this.client.send(new PutRecordsCommand({ StreamName: this.options.streamName, Records: pending }));
      if (!response.FailedRecordCount) return retried;
      const results = response.Records ?? [];
      const failed = pending.filter((_, i) => results[i]?.ErrorCode !== undefined);
      if (attempt >= this.maxAttempts) {
        const firstError = results.find((r) => r.ErrorCode !== undefined);
        throw new CaliError('CALI_ERR_PUT_RECORDS',
          `PutRecords to ${this.options.streamName}: ${failed.length} records still failing after ${attempt} attempts (${firstError?.ErrorCode}: ${firstError?.ErrorMessage})`);
      }
      retried += failed.length;
      pending = failed;
      const ceiling = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}
