/**
 * Where the DLQ and archive sinks put their objects: an S3 bucket prefix or a
 * local directory, behind one small interface so the batching writer, the
 * readers and the tests do not care which. Keys are relative to the
 * destination (the S3 prefix or the directory) and use `/` as separator.
 */

export interface PutObjectOptions {
  readonly contentType: string;
  readonly contentEncoding?: string | undefined;
  /** Aborts the attempt (the writer's per-attempt timeout); the store reports it as a retriable failure. */
  readonly signal?: AbortSignal | undefined;
}

export interface ObjectSummary {
  readonly key: string;
  readonly sizeBytes: number;
}

export interface ListObjectsOptions {
  /** Only keys strictly greater than this (S3's StartAfter). */
  readonly startAfter?: string | undefined;
}

export interface ObjectStore {
  /** The destination as an operator wrote it (`s3://bucket/prefix/` or a directory), for messages and health. */
  readonly location: string;
  /**
   * Writes the whole object or nothing: a reader never sees a partial object
   * (S3 PutObject; a renamed temp file locally). Overwriting a key replaces
   * it, so retrying a put under the same key is idempotent.
   */
  put(key: string, body: Uint8Array, options: PutObjectOptions): Promise<void>;
  /** Keys under `prefix` in ascending byte order, paged lazily. */
  list(prefix: string, options?: ListObjectsOptions): AsyncIterable<ObjectSummary>;
  /** The object's bytes as stored (still compressed), streamed; rejects with `not_found` for a missing key. */
  get(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
}

/**
 * `unavailable`: worth retrying (throttling, 5xx, network, timeouts, a full
 * disk). `rejected`: the destination refused and will refuse again (access
 * denied, no such bucket, read-only file system). `not_found`: get() of a
 * missing key.
 */
export type ObjectStoreErrorCode = 'unavailable' | 'rejected' | 'not_found';

export class ObjectStoreError extends Error {
  readonly retriable: boolean;

  constructor(
    readonly code: ObjectStoreErrorCode,
    /** The underlying cause's own code (S3 error name, errno code), for health details and logs. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
    this.retriable = code === 'unavailable';
  }
}

/** Bugs are never retried (KafkaJS's rule): the same call would fail the same way. */
export function isProgrammerError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError;
}

/** A store (or a test fake) may throw anything; this is the writer's one view of it. */
export function toObjectStoreError(error: unknown): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const reason = error instanceof Error ? error.name : 'unknown';
  return new ObjectStoreError(isProgrammerError(error) ? 'rejected' : 'unavailable', reason, message, { cause: error });
}
