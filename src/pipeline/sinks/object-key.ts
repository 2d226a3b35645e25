/**
 * Object keys of the DLQ and the archive (relative to the destination):
 *
 *   YYYY/MM/DD/HH/<startMs>-<workerId>-<writerId>-<sequence>.ndjson[.gz]
 *
 * - `YYYY/MM/DD/HH/`: UTC hour of the object's start (when its first item
 *   arrived), so a time window is a key range and S3 lifecycle rules and
 *   Athena/Glue partitions can use the prefix.
 * - `<startMs>`: that start in epoch milliseconds, 13 digits, so keys within
 *   an hour sort by time; first, so it parses however the worker id looks.
 * - `<workerId>`: CALI_WORKER_ID (characters outside [A-Za-z0-9._] become
 *   "_"), telling an operator which replica wrote it.
 * - `<writerId>`: 8 random hex digits per writer instance. A restarted
 *   container keeps its host name and pid 1 (so the default worker id), and
 *   two writers may share a destination: the writer id keeps their keys apart.
 * - `<sequence>`: the writer's object counter, zero-padded to 6 digits so
 *   objects started in one millisecond still list in order. Retries reuse the
 *   key (an overwrite: a retried PUT that had in fact succeeded leaves one object).
 */
import { randomBytes } from 'node:crypto';
import type { Compression } from './object-writer-config.js';

export interface ObjectKeyParts {
  readonly startMs: number;
  readonly workerId: string;
  readonly writerId: string;
  readonly sequence: number;
  readonly compression: Compression;
}

const MAX_WORKER_ID_CHARS = 128;
const KEY_PATTERN = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/(\d{13,})-.+\.ndjson(?:\.gz)?$/;

export function newWriterId(): string {
  return randomBytes(4).toString('hex');
}

/** Dashes become "_" too: the worker id then never looks like the key's separators. */
export function keySafeWorkerId(workerId: string): string {
  return workerId.replace(/[^A-Za-z0-9._]/g, '_').slice(0, MAX_WORKER_ID_CHARS) || '_';
}

const pad = (value: number, digits: number): string => String(value).padStart(digits, '0');

/** `YYYY/MM/DD/HH/` of an instant, UTC. */
export function hourPrefix(epochMs: number): string {
  const time = new Date(epochMs);
  return `${pad(time.getUTCFullYear(), 4)}/${pad(time.getUTCMonth() + 1, 2)}/${pad(time.getUTCDate(), 2)}/${pad(time.getUTCHours(), 2)}/`;
}

export function objectKey(parts: ObjectKeyParts): string {
  const extension = parts.compression === 'gzip' ? '.ndjson.gz' : '.ndjson';
  return `${hourPrefix(parts.startMs)}${pad(parts.startMs, 13)}-${keySafeWorkerId(parts.workerId)}-${parts.writerId}-${pad(parts.sequence, 6)}${extension}`;
}

/** The start time of an object written under this scheme; undefined for any other key. */
export function objectStartMs(key: string): number | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const startMs = Number(match[5]);
  // The hour directory must agree with the time in the name: anything else was not written by this scheme.
  return Number.isSafeInteger(startMs) && key.startsWith(hourPrefix(startMs)) ? startMs : undefined;
}
