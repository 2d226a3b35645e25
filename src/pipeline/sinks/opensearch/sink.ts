/**
 * The OpenSearch sink: archive lines indexed with the bulk API. Reads top to
 * bottom: lines -> bulk items (./request.ts) -> batches closed by bytes,
 * documents or age -> bulk requests (at most maxInFlightRequests) -> per-item
 * outcome (./retry-policy.ts): indexed, retried alone after a backoff (429,
 * 5xx), or dead-lettered with the cluster's reason (mapping errors).
 *
 * Acks: write() resolves when every document of the call is indexed or
 * durably in the DLQ; it rejects with a SinkError when the policy gave up on
 * one of them (the other documents may still land: the pipeline retries the
 * batch, and ids derived from the record's position make that idempotent).
 *
 * Memory: document bytes are counted until they settle; past
 * maxBufferedBytes a gating sink makes write() wait (backpressure on the
 * shard) and a non-gating one refuses the call at once, so a slow cluster
 * never grows the heap or stalls the pipeline it does not gate.
 */
import { Client } from '@opensearch-project/opensearch';
import { sleep } from '../../../sleep.js';
import type { ArchiveChunk } from '../archive/sink.js';
import type { DeadLetter } from '../dlq/dead-letter.js';
import { backoffDelayMs } from '../retry-policy.js';
import { SinkError, type Sink, type SinkHealth } from '../sink.js';
import type { OpenSearchSinkConfig } from './config.js';
import { SearchEventBus } from './events.js';
import { BulkHealthTracker } from './health.js';
import { bulkItemOf, linesOf, type BulkItem } from './request.js';
import { classifyItemStatus, classifyRequestError, itemErrorText } from './retry-policy.js';
import { installIndexSetup } from './setup.js';

/** The DLQ reason code of a document the cluster refused. */
export const INDEX_REJECTED = 'index_rejected';

export interface OpenSearchSinkDependencies {
  readonly client: Client;
  /** Where refused documents go, with the cluster's reason. */
  readonly dlq: Pick<Sink<DeadLetter>, 'write'>;
  readonly events?: SearchEventBus | undefined;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface PendingWrite {
  left: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (error: SinkError) => void;
}

interface Entry {
  readonly item: BulkItem;
  readonly write: PendingWrite;
  attempts: number;
}

interface OpenBatch {
  readonly entries: Entry[];
  bytes: number;
  readonly timer: NodeJS.Timeout;
}

export function createOpenSearchClient(config: OpenSearchSinkConfig): Client {
  // Retries are this sink's (per item, with backoff); the client's own would resend whole bulks.
  return new Client({ node: config.url, maxRetries: 0, requestTimeout: config.retry.attemptTimeoutMs, compression: 'gzip' });
}

export class OpenSearchSink implements Sink<ArchiveChunk> {
  readonly name = 'opensearch';
  readonly events: SearchEventBus;
  private readonly client: Client;
  private readonly dlq: Pick<Sink<DeadLetter>, 'write'>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly health_: BulkHealthTracker;
  private open: OpenBatch | undefined;
  private readonly ready: Entry[][] = [];
  private readonly running = new Set<Promise<void>>();
  private inFlight = 0;
  private bufferedBytes = 0;
  private readonly admission: { items: BulkItem[]; bytes: number; write: PendingWrite }[] = [];
  private setupDone = false;
  private closing = false;

  static create(config: OpenSearchSinkConfig, dependencies: Omit<OpenSearchSinkDependencies, 'client'> & { client?: Client }): OpenSearchSink {
    return new OpenSearchSink(config, { ...dependencies, client: dependencies.client ?? createOpenSearchClient(config) });
  }

  constructor(private readonly config: OpenSearchSinkConfig, dependencies: OpenSearchSinkDependencies) {
    this.client = dependencies.client;
    this.dlq = dependencies.dlq;
    this.events = dependencies.events ?? new SearchEventBus();
    this.now = dependencies.now ?? Date.now;
    this.random = dependencies.random ?? Math.random;
    this.health_ = new BulkHealthTracker(config.location, config.retry.maxAttempts);
    this.setupDone = !config.installTemplates;
  }

  /** Installs the templates and the ISM policy if missing; called at start-up and retried before the next bulk if it failed. */
  async setup(): Promise<void> {
    if (this.setupDone) return;
    await installIndexSetup(this.client, this.config);
    this.setupDone = true;
  }

  write(chunks: readonly ArchiveChunk[]): Promise<void> {
    if (this.closing) return Promise.reject(new SinkError('sink_closed', this.name, 'write after close()', false));
    const nowMs = this.now();
    const items: BulkItem[] = [];
    let bytes = 0;
    for (const line of linesOf(chunks)) {
      const item = bulkItemOf(line, this.config.indexPrefix, nowMs);
      if (item === undefined) return Promise.reject(new SinkError('sink_rejected', this.name, 'an archive line has no readable "_cali" position', false));
      items.push(item);
      bytes += item.bytes;
    }
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const write: PendingWrite = { left: items.length, settled: false, resolve, reject };
      if (this.admission.length === 0 && this.bufferedBytes < this.config.maxBufferedBytes) this.append(items, bytes, write);
      else if (!this.config.gatesCheckpoint) {
        write.settled = true;
        reject(new SinkError('sink_unavailable', this.name, `buffer full (${this.bufferedBytes} bytes waiting for ${this.config.location})`, true));
      } else this.admission.push({ items, bytes, write });
    });
  }

  /** Sends the open batch and waits until everything taken so far settled (retries included). */
  async flush(): Promise<void> {
    this.seal();
    while (this.running.size > 0 || this.ready.length > 0) {
      this.startSends();
      await Promise.allSettled([...this.running]);
    }
  }

  health(): SinkHealth {
    return this.health_.snapshot();
  }

  backlog(): { bufferedBytes: number; inFlightRequests: number; queuedWrites: number } {
    return { bufferedBytes: this.bufferedBytes, inFlightRequests: this.inFlight, queuedWrites: this.admission.length };
  }

  async close(): Promise<void> {
    this.closing = true;
    while (this.open !== undefined || this.running.size > 0 || this.ready.length > 0 || this.admission.length > 0) {
      this.admitQueued(true);
      await this.flush();
    }
    await this.client.close();
  }

  private append(items: readonly BulkItem[], bytes: number, write: PendingWrite): void {
    this.bufferedBytes += bytes;
    for (const item of items) {
      let batch = this.open;
      if (batch !== undefined && batch.bytes + item.bytes > this.config.maxBulkBytes) {
        this.seal();
        batch = undefined;
      }
      batch ??= this.openBatch();
      batch.entries.push({ item, write, attempts: 0 });
      batch.bytes += item.bytes;
      if (batch.bytes >= this.config.maxBulkBytes || batch.entries.length >= this.config.maxBulkDocuments) this.seal();
    }
    if (this.closing) this.seal();
  }

  private openBatch(): OpenBatch {
    const batch: OpenBatch = { entries: [], bytes: 0, timer: setTimeout(() => { if (this.open === batch) this.seal(); }, this.config.maxBulkAgeMs) };
    this.open = batch;
    return batch;
  }

  private seal(): void {
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    clearTimeout(batch.timer);
    if (batch.entries.length > 0) this.ready.push(batch.entries);
    this.startSends();
  }

  private startSends(): void {
    while (this.inFlight < this.config.maxInFlightRequests) {
      const entries = this.ready.shift();
      if (entries === undefined) return;
      this.inFlight++;
      const run = this.send(entries).finally(() => {
        this.inFlight--;
        this.running.delete(run);
        this.startSends();
      });
      this.running.add(run);
    }
  }

  /** One batch until every entry settled or needs a retry of its own; never rejects. */
  private async send(entries: Entry[]): Promise<void> {
    const body = entries.map((e) => e.item.body).join('');
    const bytes = Buffer.byteLength(body);
    for (const entry of entries) entry.attempts++;
    let items: readonly Record<string, { status: number; error?: unknown }>[];
    const started = performance.now();
    try {
      await this.setup();
      // The client sends a string bulk body as it is (already NDJSON); its types only declare the array form.
      const response = await this.client.bulk({ body: body as never });
      items = (response.body as { items: Record<string, { status: number; error?: unknown }>[] }).items;
    } catch (error) {
      const failure = classifyRequestError(error);
      this.health_.recordFailure(failure.reason, failure.retriable);
      this.events.emit('bulk.failed', { documents: entries.length, error: failure.reason, retriable: failure.retriable, durationMs: performance.now() - started });
      const attempts = entries[0]!.attempts;
      if (!failure.retriable || attempts >= this.config.retry.maxAttempts) {
        const code = failure.retriable ? 'sink_unavailable' : 'sink_rejected';
        this.settle(entries, new SinkError(code, this.name, `bulk request to ${this.config.location} failed after ${attempts} attempts: ${failure.reason}`, failure.retriable, { cause: error }));
        return;
      }
      this.retryLater(entries, attempts);
      return;
    }
    this.health_.recordSuccess(this.now());
    const done: Entry[] = [];
    const retry: Entry[] = [];
    const rejected: { entry: Entry; reason: string }[] = [];
    const exhausted: Entry[] = [];
    entries.forEach((entry, i) => {
      const result = items[i] === undefined ? undefined : Object.values(items[i]!)[0];
      // A response shorter than the request is the cluster's fault: those items are retried.
      const outcome = result === undefined ? 'retry' : classifyItemStatus(result.status);
      if (outcome === 'indexed') done.push(entry);
      else if (outcome === 'reject') rejected.push({ entry, reason: `${result?.status ?? ''} ${itemErrorText(result?.error)}`.trim() });
      else if (entry.attempts >= this.config.retry.maxAttempts) exhausted.push(entry);
      else retry.push(entry);
    });
    this.events.emit('bulk.completed', {
      index: entries[0]!.item.index, documents: entries.length, indexed: done.length, retried: retry.length + exhausted.length,
      rejected: rejected.length, bytes, durationMs: performance.now() - started,
    });
    this.settle(done, undefined);
    if (exhausted.length > 0) {
      this.settle(exhausted, new SinkError('sink_unavailable', this.name, `${exhausted.length} documents still refused (429/5xx) after ${this.config.retry.maxAttempts} attempts`, true));
    }
    if (rejected.length > 0) await this.deadLetter(rejected);
    if (retry.length > 0) this.retryLater(retry, Math.max(...retry.map((e) => e.attempts)));
  }

  private async deadLetter(rejected: readonly { entry: Entry; reason: string }[]): Promise<void> {
    const failedAtMs = this.now();
    const letters: DeadLetter[] = rejected.map(({ entry, reason }) => ({
      shardId: entry.item.shardId,
      sequenceNumber: entry.item.sequenceNumber,
      subSequenceNumber: entry.item.subSequenceNumber,
      reason: { code: INDEX_REJECTED, message: reason },
      data: Buffer.from(entry.item.source),
      failedAtMs,
    }));
    const entries = rejected.map((r) => r.entry);
    try {
      await this.dlq.write(letters);
      this.events.emit('documents.rejected', { documents: letters.length, reason: rejected[0]!.reason });
      this.settle(entries, undefined);
    } catch (error) {
      this.settle(entries, error instanceof SinkError ? error : new SinkError('sink_unavailable', this.name, `dead-lettering refused documents failed: ${String(error)}`, true, { cause: error }));
    }
  }

  /** Failed items wait out a backoff, then go back to the send queue as a batch of their own. */
  private retryLater(entries: Entry[], failedAttempts: number): void {
    const wait = sleep(backoffDelayMs(this.config.retry, failedAttempts, this.random)).then(() => {
      this.running.delete(wait);
      this.ready.unshift(entries);
      this.startSends();
    });
    this.running.add(wait);
  }

  private settle(entries: readonly Entry[], failure: SinkError | undefined): void {
    for (const entry of entries) {
      this.bufferedBytes -= entry.item.bytes;
      const write = entry.write;
      write.left--;
      if (write.settled) continue;
      if (failure !== undefined) {
        write.settled = true;
        write.reject(failure);
      } else if (write.left === 0) {
        write.settled = true;
        write.resolve();
      }
    }
    this.admitQueued(false);
  }

  private admitQueued(force: boolean): void {
    while (force || this.bufferedBytes < this.config.maxBufferedBytes) {
      const queued = this.admission.shift();
      if (queued === undefined) return;
      this.append(queued.items, queued.bytes, queued.write);
    }
  }
}
