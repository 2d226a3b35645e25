/**
 * ObjectStore doubles for the sink tests: an in-memory store that records
 * every put attempt, and wrappers that fail or hold puts on demand.
 */
import { ObjectStoreError, type ListObjectsOptions, type ObjectStore, type ObjectSummary, type PutObjectOptions } from '../../src/pipeline/sinks/object-store/object-store.js';

export interface PutAttempt {
  readonly key: string;
  readonly bytes: number;
  readonly contentType: string;
  readonly contentEncoding: string | undefined;
}

export class MemoryObjectStore implements ObjectStore {
  readonly location = 'memory://test/';
  readonly objects = new Map<string, Uint8Array>();
  readonly puts: PutAttempt[] = [];

  async put(key: string, body: Uint8Array, options: PutObjectOptions): Promise<void> {
    this.puts.push({ key, bytes: body.byteLength, contentType: options.contentType, contentEncoding: options.contentEncoding });
    this.objects.set(key, Uint8Array.from(body));
  }

  async *list(prefix: string, options: ListObjectsOptions = {}): AsyncGenerator<ObjectSummary> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix) && (options.startAfter === undefined || key > options.startAfter)).sort();
    for (const key of keys) yield { key, sizeBytes: this.objects.get(key)?.byteLength ?? 0 };
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const body = this.objects.get(key);
    if (body === undefined) throw new ObjectStoreError('not_found', 'NoSuchKey', `no ${key}`);
    // Small chunks so readers are exercised across chunk boundaries.
    return (async function* () {
      for (let offset = 0; offset < body.byteLength; offset += 7) yield body.subarray(offset, offset + 7);
    })();
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  /** The NDJSON text of every object, in key order. */
  texts(): string[] {
    return [...this.objects.keys()].sort().map((key) => Buffer.from(this.objects.get(key) ?? new Uint8Array()).toString('utf8'));
  }
}

/** Delegates to `inner` unless `failure` returns an error for this put attempt (1-based over the store's life). */
export class FaultyObjectStore implements ObjectStore {
  attempts = 0;

  constructor(private readonly inner: ObjectStore, private readonly failure: (attempt: number, key: string) => Error | undefined) {}

  get location(): string {
    return this.inner.location;
  }

  async put(key: string, body: Uint8Array, options: PutObjectOptions): Promise<void> {
    const error = this.failure(++this.attempts, key);
    if (error !== undefined) throw error;
    await this.inner.put(key, body, options);
  }

  list(prefix: string, options?: ListObjectsOptions): AsyncIterable<ObjectSummary> {
    return this.inner.list(prefix, options);
  }

  get(key: string): Promise<AsyncIterable<Uint8Array>> {
    return this.inner.get(key);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/** Holds every put until released, then performs it on `inner`: a destination as slow as the test wants. */
export class GatedObjectStore implements ObjectStore {
  private readonly held: { key: string; start: () => void }[] = [];
  private arrivals: (() => void)[] = [];

  constructor(private readonly inner: ObjectStore) {}

  get location(): string {
    return this.inner.location;
  }

  get heldKeys(): string[] {
    return this.held.map((put) => put.key);
  }

  async put(key: string, body: Uint8Array, options: PutObjectOptions): Promise<void> {
    await new Promise<void>((start) => {
      this.held.push({ key, start });
      for (const arrived of this.arrivals.splice(0)) arrived();
    });
    await this.inner.put(key, body, options);
  }

  /** Resolves once at least `count` puts are being held. */
  async waitForHeld(count: number): Promise<void> {
    while (this.held.length < count) await new Promise<void>((arrived) => this.arrivals.push(arrived));
  }

  /** Lets the oldest held put proceed. */
  releaseOne(): void {
    const put = this.held.shift();
    if (put === undefined) throw new Error('no put is being held');
    put.start();
  }

  list(prefix: string, options?: ListObjectsOptions): AsyncIterable<ObjectSummary> {
    return this.inner.list(prefix, options);
  }

  get(key: string): Promise<AsyncIterable<Uint8Array>> {
    return this.inner.get(key);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/** The state of a promise without waiting for it, after letting pending callbacks run. */
export async function promiseState(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  void promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}
