/**
 * Packs one shard batch into the worker protocol's single buffer: arrival
 * times, offsets, payloads and ASCII sequence numbers, one copy per record,
 * then the buffer is moved to the worker. The worker moves it back with its
 * result, and the pool packs a later batch into it: a new buffer per batch
 * cost the main thread page faults and, as external memory, major GCs, while
 * two worker threads wanted both cores. The original record bytes stay with
 * the caller (for the DLQ and for a retry after a worker crash).
 */
import type { StreamRecord } from '../lease/record-processor.js';
import type { BatchTask } from '../workers/protocol.js';

export interface PackedBatch {
  readonly task: BatchTask;
  readonly transferList: ArrayBuffer[];
}

/** Bytes packBatch needs for these records. */
export function packedSize(records: readonly StreamRecord[]): number {
  let bytes = 0;
  for (const record of records) {
    // Kinesis sequence numbers are decimal digits: one byte per character.
    bytes += record.data.byteLength + record.sequenceNumber.length;
  }
  return headerSize(records.length) + bytes;
}

/** Arrival times (8-byte aligned at the start), then offsets. */
function headerSize(count: number): number {
  return 8 * count + 4 * 2 * (count + 1);
}

/**
 * Packs `records`; into `reuse` when it is large enough (its old content is
 * overwritten where needed and otherwise ignored: offsets say what is what).
 */
export function packBatch(shardId: string, records: readonly StreamRecord[], reuse?: ArrayBuffer): PackedBatch {
  const count = records.length;
  const size = packedSize(records);
  const buffer = reuse !== undefined && reuse.byteLength >= size ? reuse : new ArrayBuffer(size);
  const arrivalMs = new Float64Array(buffer, 0, count);
  const offsets = new Uint32Array(buffer, 8 * count, 2 * (count + 1));
  const bytes = new Uint8Array(buffer);
  // A Buffer view for its latin1 write: one native call per sequence number, half the time of a charCodeAt loop.
  const text = Buffer.from(buffer);
  let at = headerSize(count);
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    offsets[i] = at;
    bytes.set(record.data, at);
    at += record.data.byteLength;
    arrivalMs[i] = record.approximateArrivalMs ?? Number.NaN;
  }
  offsets[count] = at;
  for (let i = 0; i < count; i++) {
    offsets[count + 1 + i] = at;
    at += text.write(records[i]!.sequenceNumber, at, 'latin1');
  }
  offsets[2 * count + 1] = at;
  return { task: { shardId, count, buffer, offsets, arrivalMs }, transferList: [buffer] };
}
