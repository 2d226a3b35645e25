/**
 * Archive data for the quality benchmarks, made the way the consumer makes
 * it: simulator records (default mix) through the worker's batch processor,
 * so every line is a real archive line with `_cali`. A pool of such lines is
 * then repeated with fresh sequence numbers (every position unique, as in a
 * real archive) into objects of about 8 MiB of NDJSON (the archive sink's
 * default object size), gzip-compressed as the sink does. Objects are built
 * one at a time: a 1 GiB window is never in memory.
 */
import { gzipSync } from 'node:zlib';
import type { StreamRecord } from '../src/lease/record-processor.js';
import { WORKER_SETTINGS } from '../src/main.js';
import { objectKey } from '../src/pipeline/sinks/object-key.js';
import { packBatch } from '../src/pipeline/pack.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';

export const OBJECT_BYTES = 8 * 1024 * 1024;
const SEQUENCE_FIELD = '"sequenceNumber":"';

/** A line split around its sequence number, so that copies get new positions by concatenation. */
interface LineTemplate {
  readonly head: string;
  readonly tail: string;
}

export interface ArchivePool {
  readonly templates: readonly LineTemplate[];
  readonly meanLineBytes: number;
}

/** `records` archive lines of the default simulator mix, with event times around `timeMs`. */
export function makeArchivePool(records: number, timeMs: number, seed = 1): ArchivePool {
  let clock = timeMs - 60_000;
  const simulator = new LogSimulator({ seed, errorRatio: 0.05, invalidRatio: 0, clock: () => (clock += 50) });
  const process = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter());
  const batch: StreamRecord[] = [];
  for (let i = 0; i < records; i++) {
    const event = simulator.next();
    batch.push({ data: event.data, sequenceNumber: String(10n ** 50n + BigInt(i)), partitionKey: `k${i}`, approximateArrivalMs: clock + 500 });
  }
  const result = process(packBatch('shardId-000000000000', batch).task);
  const lines = Buffer.from(result.archive).toString('utf8').split('\n').filter((line) => line !== '');
  const templates = lines.map((line) => {
    const at = line.lastIndexOf(SEQUENCE_FIELD) + SEQUENCE_FIELD.length;
    const end = line.indexOf('"', at);
    return { head: line.slice(0, at), tail: line.slice(end) };
  });
  const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
  return { templates, meanLineBytes: bytes / lines.length };
}

export interface BuiltObject {
  readonly key: string;
  /** NDJSON as the archive stores it (gzip unless asked otherwise). */
  readonly body: Buffer;
  readonly uncompressedBytes: number;
  readonly lines: number;
}

/**
 * The `index`-th object of a window: about targetBytes of NDJSON, positions
 * unique across objects (the sequence number encodes object and line).
 */
export function buildObject(pool: ArchivePool, index: number, startMs: number, options: { readonly targetBytes?: number; readonly gzip?: boolean } = {}): BuiltObject {
  const target = options.targetBytes ?? OBJECT_BYTES;
  const parts: string[] = [];
  let bytes = 0;
  let line = 0;
  while (bytes < target) {
    const template = pool.templates[(index * 7919 + line) % pool.templates.length]!;
    const text = `${template.head}${49_000_000_000 + index}${String(line).padStart(9, '0')}${template.tail}\n`;
    parts.push(text);
    bytes += text.length;
    line++;
  }
  const plain = Buffer.from(parts.join(''));
  return {
    key: objectKey({ startMs, workerId: 'bench', writerId: '0badcafe', sequence: index, compression: options.gzip === false ? 'none' : 'gzip' }),
    body: options.gzip === false ? plain : gzipSync(plain),
    uncompressedBytes: plain.byteLength,
    lines: line,
  };
}
