/**
 * The archive sink: validated, enriched records as gzip NDJSON objects in S3
 * or a local directory. Workers hand over pre-serialised lines (the record
 * plus `_cali` position and fingerprint); the sink concatenates them as they
 * are, never parsing. What the data-quality job, re-indexing and the
 * reconciliation tests read back (./reader.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { BatchingObjectWriter } from '../batching-writer.js';
import { createObjectStore } from '../object-store/destination.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { SinkError, type Sink, type SinkHealth } from '../sink.js';
import type { ArchiveSinkConfig } from './config.js';

/**
 * Archive lines from a worker: one or more complete NDJSON lines, each ending
 * in `\n`. The pipeline reuses the bytes once write() resolved: a sink must
 * not read them after that (BatchingObjectWriter copies them before writing).
 */
export interface ArchiveChunk {
  readonly bytes: Uint8Array;
  readonly lines: number;
}

export interface ArchiveSinkDependencies {
  readonly store: ObjectStore;
  /** CALI_WORKER_ID, part of every object key. */
  readonly workerId: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

const NEWLINE = 0x0a;

export class ArchiveSink implements Sink<ArchiveChunk> {
  readonly name = 'archive';
  private readonly writer: BatchingObjectWriter;

  /** Wires the store for the configured destination; an S3 destination needs the client. */
  static create(config: ArchiveSinkConfig, dependencies: { readonly workerId: string; readonly s3Client?: S3Client | undefined }): ArchiveSink {
    return new ArchiveSink(config, { store: createObjectStore(config.destination, { s3Client: dependencies.s3Client }), workerId: dependencies.workerId });
  }

  constructor(config: ArchiveSinkConfig, dependencies: ArchiveSinkDependencies) {
    this.writer = new BatchingObjectWriter({ sinkName: this.name, config, ...dependencies });
  }

  write(chunks: readonly ArchiveChunk[]): Promise<void> {
    // A chunk without its final newline would glue its last record to the next chunk's first: refuse the call (a bug upstream).
    for (const chunk of chunks) {
      if (chunk.bytes.byteLength > 0 && chunk.bytes[chunk.bytes.byteLength - 1] !== NEWLINE) {
        return Promise.reject(new SinkError('sink_rejected', this.name, 'an archive chunk does not end with "\\n"', false));
      }
    }
    return this.writer.write(chunks);
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
