/**
 * Objects in an S3 bucket under a key prefix (or any S3-compatible store).
 * The client is injected: the composition root builds it with createS3Client
 * (path-style for emulators, WHEN_REQUIRED checksums) and owns its lifetime.
 * The batching writer owns the retry policy, so build the client with
 * `maxAttempts: 1` if the SDK's own retries should not multiply it.
 */
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  isProgrammerError,
  ObjectStoreError,
  type ListObjectsOptions,
  type ObjectStore,
  type ObjectSummary,
  type PutObjectOptions,
} from './object-store.js';

/** S3 error names that mean "slow down" or "try again" even when their status is a 4xx. */
const RETRIABLE_S3_ERRORS = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
]);

/** Transport failures (no HTTP response at all): the request may never have reached S3. */
const RETRIABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The S3 retry policy's first question, "is this retriable?": throttling, 5xx,
 * timeouts and transport failures are; AccessDenied, NoSuchBucket and other
 * 4xx are not (the same request fails the same way); bugs are not. An error
 * without status or known name (a failed credential refresh, say) counts as
 * transient: stalling the shard is recoverable, dropping the write is not.
 */
export function classifyS3Error(operation: string, error: unknown): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
  const name = typeof shape.name === 'string' ? shape.name : 'unknown';
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  const reason = code !== undefined && RETRIABLE_NETWORK_CODES.has(code) ? code : name;
  const detail = error instanceof Error ? error.message : String(error);
  const message = `${operation} failed: ${reason}${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`;
  const options = { cause: error };
  if (name === 'NoSuchKey') return new ObjectStoreError('not_found', reason, message, options);
  const retriable =
    RETRIABLE_S3_ERRORS.has(name) ||
    (code !== undefined && RETRIABLE_NETWORK_CODES.has(code)) ||
    shape.$retryable !== undefined ||
    (status !== undefined ? status >= 500 || status === 429 || status === 408 : !isProgrammerError(error));
  return new ObjectStoreError(retriable ? 'unavailable' : 'rejected', reason, message, options);
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly prefix: string;

  /**
   * `prefix` is empty or ends with `/` (parseDestinationUri normalises it).
   * `listPageSize` unset means S3's maximum (1000); tests page with less.
   */
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    prefix: string,
    private readonly listPageSize?: number,
  ) {
    if (prefix !== '' && !prefix.endsWith('/')) throw new RangeError(`S3 prefix must be empty or end with "/", got "${prefix}"`);
    this.prefix = prefix;
    this.location = `s3://${bucket}/${prefix}`;
  }

  async put(key: string, body: Uint8Array, options: PutObjectOptions): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          ...(options.contentEncoding === undefined ? {} : { ContentEncoding: options.contentEncoding }),
        }),
        options.signal === undefined ? {} : { abortSignal: options.signal },
      );
    } catch (error) {
      throw classifyS3Error(`PutObject ${this.location}${key}`, error);
    }
  }

  /**
   * ListObjects (V1) paged with Marker = the last key seen: for a listing
   * without delimiter, the same result as V2 with StartAfter. Not V2 because
   * s3rver (the embedded stack) answers every truncated V2 page with
   * InternalError: its continuation tokens use DES, which Node's OpenSSL 3
   * refuses without --openssl-legacy-provider, and an archive passes 1000
   * objects within 20 minutes. General-purpose buckets only: directory
   * buckets support only V2 and do not list in key order anyway.
   */
  async *list(prefix: string, options: ListObjectsOptions = {}): AsyncGenerator<ObjectSummary> {
    let marker = options.startAfter === undefined ? undefined : this.prefix + options.startAfter;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(marker === undefined ? {} : { Marker: marker }),
            ...(this.listPageSize === undefined ? {} : { MaxKeys: this.listPageSize }),
          }),
        );
      } catch (error) {
        throw classifyS3Error(`ListObjects ${this.location}${prefix}`, error);
      }
      const contents = page.Contents ?? [];
      for (const object of contents) {
        if (object.Key === undefined) continue;
        yield { key: object.Key.slice(this.prefix.length), sizeBytes: object.Size ?? 0 };
      }
      const last = contents.at(-1)?.Key;
      if (page.IsTruncated !== true || last === undefined) return;
      marker = last;
    }
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))).Body;
    } catch (error) {
      throw classifyS3Error(`GetObject ${this.location}${key}`, error);
    }
    // In Node the SDK's body is an http.IncomingMessage; anything else is a misconfigured client.
    if (!(body instanceof Readable)) throw new TypeError(`GetObject ${this.location}${key} returned no readable body`);
    return body;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (error) {
      throw classifyS3Error(`DeleteObject ${this.location}${key}`, error);
    }
  }
}
