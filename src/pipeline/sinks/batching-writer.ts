/**
 * The batching object writer behind the DLQ and archive sinks: NDJSON
 * fragments accumulate in the open object until it reaches maxObjectBytes,
 * maxObjectLines or maxObjectAgeMs; the object is then sealed, encoded
 * (optionally gzip) and written with the retry policy, at most
 * maxInFlightObjects at a time. Reads top to bottom: batch -> build request
 * (encode) -> send (put with retries) -> ack.
 *
 * Acks: write() resolves when every object holding one of its fragments is
 * written, and rejects with the SinkError of the first such object the
 * policy gave up on (the other objects may still be written: the pipeline
 * retries the whole batch, at-least-once). Fragments of several write()
 * calls share objects.
 *
 * Memory: bytes of fragments held (open, sealed, in flight) are counted until
 * their object settles; while that exceeds maxBufferedBytes, write() queues
 * the call (FIFO) instead of taking its fragments, so a slow destination
 * turns into backpressure on the pipeline, not heap growth.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { WriteHealthTracker } from './health.js';
import { newWriterId, objectKey } from './object-key.js';
import { ObjectStoreError, toObjectStoreError, type ObjectStore } from './object-store/object-store.js';
import type { ObjectWriterConfig } from './object-writer-config.js';
import { backoffDelayMs } from './retry-policy.js';
import { SinkError, type SinkHealth } from './sink.js';

/** One or more complete NDJSON lines, each ending in `\n`; never split across objects. */
export interface NdjsonFragment {
  readonly bytes: Uint8Array;
  readonly lines: number;
}

export interface BatchingObjectWriterOptions {
  /** Names the sink in SinkErrors. */
  readonly sinkName: string;
  readonly store: ObjectStore;
  readonly config: ObjectWriterConfig;
  /** CALI_WORKER_ID; part of every object key. */
  readonly workerId: string;
  /** Epoch milliseconds; the object key's time partition comes from it. */
  readonly now?: () => number;
  /** Uniform in [0, 1), for backoff jitter. */
  readonly random?: () => number;
}

export interface WriterBacklog {
  readonly bufferedBytes: number;
  readonly queuedWrites: number;
  readonly inFlightObjects: number;
}

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

const gzipAsync = promisify(gzip);

interface PendingWrite {
  /** Objects holding at least one of the call's fragments that have not settled. */
  objectsLeft: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (error: SinkError) => void;
}

interface QueuedWrite {
  readonly fragments: readonly NdjsonFragment[];
  readonly bytes: number;
  readonly write: PendingWrite;
}

interface PendingObject {
  readonly key: string;
  fragments: Uint8Array[];
  bytes: number;
  lines: number;
  readonly writes: Set<PendingWrite>;
  ageTimer: NodeJS.Timeout | undefined;
  /** Resolves (never rejects) when the object settled: undefined once written, the SinkError if given up. */
  readonly settled: Promise<SinkError | undefined>;
  readonly settle: (failure: SinkError | undefined) => void;
}

export class BatchingObjectWriter {
  private readonly sinkName: string;
  private readonly store: ObjectStore;
  private readonly config: ObjectWriterConfig;
  private readonly workerId: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly writerId = newWriterId();
  private readonly healthTracker: WriteHealthTracker;

  private open: PendingObject | undefined;
  /** Sealed objects waiting for an in-flight slot, oldest first. */
  private readonly sealed: PendingObject[] = [];
  /** Sealed objects not settled yet (waiting or in flight): what flush() waits for. */
  private readonly unsettled = new Set<PendingObject>();
  private inFlight = 0;
  private bufferedBytes = 0;
  private readonly admissionQueue: QueuedWrite[] = [];
  private sequence = 0;
  private closing = false;

  constructor(options: BatchingObjectWriterOptions) {
    this.sinkName = options.sinkName;
    this.store = options.store;
    this.config = options.config;
    this.workerId = options.workerId;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.healthTracker = new WriteHealthTracker(options.store.location, options.config.retry.maxAttempts);
  }

  write(fragments: readonly NdjsonFragment[]): Promise<void> {
    if (this.closing) return Promise.reject(new SinkError('sink_closed', this.sinkName, 'write after close()', false));
    let bytes = 0;
    for (const fragment of fragments) bytes += fragment.bytes.byteLength;
    if (bytes === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const write: PendingWrite = { objectsLeft: 0, settled: false, resolve, reject };
      // FIFO: while anyone waits for room, later calls wait behind them.
      if (this.admissionQueue.length === 0 && this.bufferedBytes < this.config.maxBufferedBytes) this.append(fragments, bytes, write);
      else this.admissionQueue.push({ fragments, bytes, write });
    });
  }

  /** Seals the open object and waits for every sealed object; rejects with the first SinkError among them. */
  async flush(): Promise<void> {
    this.seal();
    const failure = await this.settleAll();
    if (failure !== undefined) throw failure;
  }

  /** Refuses new writes, then writes out everything taken or queued before, however long the retries take. */
  async close(): Promise<void> {
    this.closing = true;
    let failure: SinkError | undefined;
    // Queued calls are taken as objects settle; each loop seals what they appended.
    while (this.open !== undefined || this.unsettled.size > 0 || this.admissionQueue.length > 0) {
      this.seal();
      const settled = await this.settleAll();
      failure ??= settled;
    }
    if (failure !== undefined) throw failure;
  }

  /** For metrics and backpressure: bytes held (before compression), calls waiting for room, objects being written. */
  backlog(): WriterBacklog {
    return { bufferedBytes: this.bufferedBytes, queuedWrites: this.admissionQueue.length, inFlightObjects: this.inFlight };
  }

  health(): SinkHealth {
    return this.healthTracker.snapshot();
  }

  private async settleAll(): Promise<SinkError | undefined> {
    const failures = await Promise.all([...this.unsettled].map((object) => object.settled));
    return failures.find((failure) => failure !== undefined);
  }

  private append(fragments: readonly NdjsonFragment[], bytes: number, write: PendingWrite): void {
    const { maxObjectBytes, maxObjectLines } = this.config;
    this.bufferedBytes += bytes;
    for (const fragment of fragments) {
      const size = fragment.bytes.byteLength;
      if (size === 0) continue;
      let object = this.open;
      if (object !== undefined && (object.bytes + size > maxObjectBytes || object.lines + fragment.lines > maxObjectLines)) {
        this.seal();
        object = undefined;
      }
      object ??= this.openObject();
      object.fragments.push(fragment.bytes);
      object.bytes += size;
      object.lines += fragment.lines;
      if (!object.writes.has(write)) {
        object.writes.add(write);
        write.objectsLeft++;
      }
      if (object.bytes >= maxObjectBytes || object.lines >= maxObjectLines) this.seal();
    }
    // Closing: nothing waits for an age limit any more.
    if (this.closing) this.seal();
  }

  private openObject(): PendingObject {
    const startMs = this.now();
    let settle: (failure: SinkError | undefined) => void = () => undefined;
    const settled = new Promise<SinkError | undefined>((resolve) => (settle = resolve));
    const object: PendingObject = {
      key: objectKey({ startMs, workerId: this.workerId, writerId: this.writerId, sequence: this.sequence++, compression: this.config.compression }),
      fragments: [],
      bytes: 0,
      lines: 0,
      writes: new Set(),
      ageTimer: undefined,
      settled,
      settle,
    };
    object.ageTimer = setTimeout(() => {
      if (this.open === object) this.seal();
    }, this.config.maxObjectAgeMs);
    this.open = object;
    return object;
  }

  private seal(): void {
    const object = this.open;
    if (object === undefined) return;
    this.open = undefined;
    clearTimeout(object.ageTimer);
    this.sealed.push(object);
    this.unsettled.add(object);
    this.startWrites();
  }

  private startWrites(): void {
    while (this.inFlight < this.config.maxInFlightObjects) {
      const object = this.sealed.shift();
      if (object === undefined) return;
      this.inFlight++;
      void this.writeObject(object);
    }
  }

  /** Never rejects: the outcome goes to the object's writes and its `settled` promise. */
  private async writeObject(object: PendingObject): Promise<void> {
    let failure: SinkError | undefined;
    try {
      const body = await this.encode(object.fragments, object.bytes);
      // The body holds the data now; the fragment list need not stay reachable through the retries.
      object.fragments = [];
      await this.putWithRetries(object.key, body);
    } catch (error) {
      failure =
        error instanceof SinkError
          ? error
          : new SinkError('sink_rejected', this.sinkName, `could not encode object ${object.key}: ${String(error)}`, false, { cause: error });
    }
    this.finish(object, failure);
  }

  private async encode(fragments: readonly Uint8Array[], bytes: number): Promise<Uint8Array> {
    const ndjson = Buffer.concat(fragments, bytes);
    // zlib's async gzip runs on the libuv pool: an 8 MiB object does not block the event loop.
    return this.config.compression === 'gzip' ? gzipAsync(ndjson) : ndjson;
  }

  private async putWithRetries(key: string, body: Uint8Array): Promise<void> {
    const { retry, compression } = this.config;
    const where = `${this.store.location}${this.store.location.endsWith('/') ? '' : '/'}${key}`;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.putOnce(key, body, compression === 'gzip' ? 'gzip' : undefined);
      if (failure === undefined) {
        this.healthTracker.recordSuccess(this.now());
        return;
      }
      this.healthTracker.recordFailure(failure);
      if (!failure.retriable) {
        throw new SinkError('sink_rejected', this.sinkName, `${where} was refused (${failure.reason}): ${failure.message}`, false, { cause: failure });
      }
      if (attempt >= retry.maxAttempts) {
        throw new SinkError('sink_unavailable', this.sinkName, `gave up on ${where} after ${attempt} attempts (${failure.reason}): ${failure.message}`, true, {
          cause: failure,
        });
      }
      await sleep(backoffDelayMs(retry, attempt, this.random));
    }
  }

  /** One attempt, bounded by attemptTimeoutMs; the failure as a value, classified. */
  private async putOnce(key: string, body: Uint8Array, contentEncoding: string | undefined): Promise<ObjectStoreError | undefined> {
    const timeoutMs = this.config.retry.attemptTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      await this.store.put(key, body, { contentType: NDJSON_CONTENT_TYPE, contentEncoding, signal: controller.signal });
      return undefined;
    } catch (error) {
      if (controller.signal.aborted) return new ObjectStoreError('unavailable', 'AttemptTimeout', `attempt timed out after ${timeoutMs} ms`, { cause: error });
      return toObjectStoreError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private finish(object: PendingObject, failure: SinkError | undefined): void {
    this.inFlight--;
    this.unsettled.delete(object);
    this.bufferedBytes -= object.bytes;
    for (const write of object.writes) {
      write.objectsLeft--;
      if (write.settled) continue;
      if (failure !== undefined) {
        write.settled = true;
        write.reject(failure);
      } else if (write.objectsLeft === 0) {
        write.settled = true;
        write.resolve();
      }
    }
    this.admitQueued();
    this.startWrites();
    object.settle(failure);
  }

  private admitQueued(): void {
    while (this.bufferedBytes < this.config.maxBufferedBytes) {
      const queued = this.admissionQueue.shift();
      if (queued === undefined) return;
      this.append(queued.fragments, queued.bytes, queued.write);
    }
  }
}
