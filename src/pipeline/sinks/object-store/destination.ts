/**
 * CALI_DLQ_URI / CALI_ARCHIVE_URI: `s3://bucket/prefix/` or a local directory
 * (absolute, relative to the working directory, or a `file://` URL). Parsed
 * once at start-up; every error names the variable and the fix.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { CaliError } from '../../../errors.js';
import { LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-object-store.js';

export type Destination =
  | { readonly kind: 's3'; readonly bucket: string; /** Empty or ending with `/`. */ readonly prefix: string }
  | { readonly kind: 'local'; /** Absolute. */ readonly directory: string };

/** S3 bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const EXAMPLES = 's3://my-bucket/cali/dlq/ or a directory such as ./data/dlq';

function destinationError(variable: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${variable} ${problem}: ${fix}`);
}

function parseS3(value: string, rest: string, variable: string): Destination {
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  let prefix = slash === -1 ? '' : rest.slice(slash + 1);
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw destinationError(variable, `names an invalid S3 bucket "${bucket}" ("${value}")`, `use s3://<bucket>/<prefix>/ with a bucket name of 3-63 lowercase letters, digits, "." or "-", e.g. ${EXAMPLES}`);
  }
  if (/[?#]/.test(prefix)) {
    throw destinationError(variable, `has a query or fragment ("${value}")`, 'S3 destinations take no "?" or "#": use s3://<bucket>/<prefix>/');
  }
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  if (prefix.startsWith('/') || prefix.includes('//')) {
    throw destinationError(variable, `has an empty path segment ("${value}")`, 'remove the doubled "/" (S3 would keep it as part of the key), e.g. s3://my-bucket/cali/dlq/');
  }
  if (Buffer.byteLength(prefix) > 512) {
    throw destinationError(variable, 'has a prefix longer than 512 bytes', 'use a shorter prefix; object keys are limited to 1024 bytes');
  }
  return { kind: 's3', bucket, prefix };
}

export function parseDestinationUri(value: string, variable: string): Destination {
  const trimmed = value.trim();
  if (trimmed === '') throw destinationError(variable, 'is empty', `set it to ${EXAMPLES}`);
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 's3') return parseS3(trimmed, trimmed.slice('s3://'.length), variable);
  if (scheme === 'file') {
    try {
      return { kind: 'local', directory: fileURLToPath(trimmed) };
    } catch (error) {
      throw destinationError(variable, `is not a valid file URL ("${trimmed}"): ${error instanceof Error ? error.message : String(error)}`, 'use file:///absolute/path or a plain directory path');
    }
  }
  if (scheme === undefined && /^s3:/i.test(trimmed)) {
    throw destinationError(variable, `looks like an S3 URI without "//" ("${trimmed}")`, 'write it as s3://<bucket>/<prefix>/');
  }
  if (scheme !== undefined) {
    throw destinationError(variable, `uses the unsupported scheme "${scheme}://" ("${trimmed}")`, `use ${EXAMPLES}`);
  }
  return { kind: 'local', directory: resolve(trimmed) };
}

export function describeDestination(destination: Destination): string {
  return destination.kind === 's3' ? `s3://${destination.bucket}/${destination.prefix}` : destination.directory;
}

/** The store for a parsed destination; an S3 destination needs the client the composition root built. */
export function createObjectStore(destination: Destination, dependencies: { readonly s3Client?: S3Client | undefined } = {}): ObjectStore {
  if (destination.kind === 'local') return new LocalObjectStore(destination.directory);
  if (dependencies.s3Client === undefined) throw new TypeError(`an S3 client is needed for ${describeDestination(destination)}`);
  return new S3ObjectStore(dependencies.s3Client, destination.bucket, destination.prefix);
}
