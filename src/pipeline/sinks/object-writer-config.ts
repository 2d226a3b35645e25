/**
 * Settings of the batching object writer shared by the DLQ and archive sinks,
 * raw -> compiled once (defaults applied, cross-field rules checked, frozen).
 * Units are in the names.
 */
import { optionError, positiveInteger, rejectUnknownOptions } from './options.js';
import { compileRetryPolicy, type RetryPolicy, type RetryPolicyInput } from './retry-policy.js';

export type Compression = 'gzip' | 'none';

export interface ObjectWriterConfigInput {
  /** An object is closed once its NDJSON reaches this size, before compression (one larger item makes an object of its own). */
  readonly maxObjectBytes?: number;
  /** An object is closed once it holds this many lines. */
  readonly maxObjectLines?: number;
  /** An object is closed this long after its first item arrived: bounds end-to-end latency at low volume. */
  readonly maxObjectAgeMs?: number;
  /** Objects being encoded or written at once. */
  readonly maxInFlightObjects?: number;
  /** Bytes (before compression) held in open, waiting and in-flight objects; beyond it write() waits. */
  readonly maxBufferedBytes?: number;
  readonly compression?: Compression;
  readonly retry?: RetryPolicyInput;
}

export interface ObjectWriterConfig {
  readonly maxObjectBytes: number;
  readonly maxObjectLines: number;
  readonly maxObjectAgeMs: number;
  readonly maxInFlightObjects: number;
  readonly maxBufferedBytes: number;
  readonly compression: Compression;
  readonly retry: RetryPolicy;
}

/** What differs between sinks; the rest defaults the same for both. */
export interface ObjectWriterDefaults {
  readonly maxObjectLines: number;
  readonly compression: Compression;
}

export const MIB = 1024 * 1024;
export const DEFAULT_MAX_OBJECT_BYTES = 8 * MIB;
// Half a second: the end-to-end latency target (p99 under 2 s) spends most of its budget here; at most two objects a second per sink and worker, and only while records flow.
export const DEFAULT_MAX_OBJECT_AGE_MS = 500;
export const DEFAULT_MAX_IN_FLIGHT_OBJECTS = 2;
/** Room for the in-flight objects, one waiting and the one filling up. */
export const BUFFERED_OBJECTS_PER_LIMIT = 4;

export const OBJECT_WRITER_OPTIONS: readonly (keyof ObjectWriterConfigInput)[] = [
  'maxObjectBytes',
  'maxObjectLines',
  'maxObjectAgeMs',
  'maxInFlightObjects',
  'maxBufferedBytes',
  'compression',
  'retry',
];

export function compileObjectWriterConfig(input: ObjectWriterConfigInput, defaults: ObjectWriterDefaults, owner: string): ObjectWriterConfig {
  const maxObjectBytes = positiveInteger(owner, 'maxObjectBytes', input.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES);
  const maxBufferedBytes = positiveInteger(owner, 'maxBufferedBytes', input.maxBufferedBytes ?? maxObjectBytes * BUFFERED_OBJECTS_PER_LIMIT, maxObjectBytes * BUFFERED_OBJECTS_PER_LIMIT);
  if (maxBufferedBytes < maxObjectBytes) {
    throw optionError(owner, 'maxBufferedBytes', `(${maxBufferedBytes}) is below maxObjectBytes (${maxObjectBytes})`, 'the writer must be able to hold at least one full object');
  }
  const compression = input.compression ?? defaults.compression;
  if (compression !== 'gzip' && compression !== 'none') throw optionError(owner, 'compression', `is "${String(compression)}"`, 'use "gzip" or "none"');
  return Object.freeze({
    maxObjectBytes,
    maxObjectLines: positiveInteger(owner, 'maxObjectLines', input.maxObjectLines ?? defaults.maxObjectLines, defaults.maxObjectLines),
    maxObjectAgeMs: positiveInteger(owner, 'maxObjectAgeMs', input.maxObjectAgeMs ?? DEFAULT_MAX_OBJECT_AGE_MS, DEFAULT_MAX_OBJECT_AGE_MS),
    maxInFlightObjects: positiveInteger(owner, 'maxInFlightObjects', input.maxInFlightObjects ?? DEFAULT_MAX_IN_FLIGHT_OBJECTS, DEFAULT_MAX_IN_FLIGHT_OBJECTS),
    maxBufferedBytes,
    compression,
    retry: compileRetryPolicy(owner, input.retry),
  });
}

/** For sink configs that extend the writer's options with their own. */
export function checkObjectWriterOptions(input: object, extra: readonly string[], owner: string): void {
  rejectUnknownOptions(input, [...extra, ...OBJECT_WRITER_OPTIONS], owner);
}
