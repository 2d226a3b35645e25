/**
 * The dead-letter sink: invalid records with their original bytes, position
 * and reason, batched into NDJSON objects in S3 or a local directory. A
 * REQUIRED sink: a DLQ outage makes write() reject (after the writer's
 * bounded retries) and the pipeline stalls the shard's checkpoint rather
 * than drop a record.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { BatchingObjectWriter, type NdjsonFragment } from '../batching-writer.js';
import { createObjectStore } from '../object-store/destination.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { SinkError, type Sink, type SinkHealth } from '../sink.js';
import type { DlqSinkConfig } from './config.js';
import type { DeadLetter } from './dead-letter.js';
import { deadLetterFragment } from './request.js';

export interface DlqSinkDependencies {
  readonly store: ObjectStore;
  /** CALI_WORKER_ID, part of every object key. */
  readonly workerId: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

export class DlqSink implements Sink<DeadLetter> {
  readonly name = 'dlq';
  private readonly writer: BatchingObjectWriter;

  /** Wires the store for the configured destination; an S3 destination needs the client. */
  static create(config: DlqSinkConfig, dependencies: { readonly workerId: string; readonly s3Client?: S3Client | undefined }): DlqSink {
    return new DlqSink(config, { store: createObjectStore(config.destination, { s3Client: dependencies.s3Client }), workerId: dependencies.workerId });
  }

  constructor(config: DlqSinkConfig, dependencies: DlqSinkDependencies) {
    this.writer = new BatchingObjectWriter({ sinkName: this.name, config, ...dependencies });
  }

  write(deadLetters: readonly DeadLetter[]): Promise<void> {
    let fragments: NdjsonFragment[];
    try {
      fragments = deadLetters.map(deadLetterFragment);
    } catch (error) {
      // Encoded before anything is taken: a bad item fails the whole call, as the contract wants.
      return Promise.reject(new SinkError('sink_rejected', this.name, `cannot encode a dead letter: ${String(error)}`, false, { cause: error }));
    }
    return this.writer.write(fragments);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  health(): SinkHealth {
    return this.writer.health();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}
