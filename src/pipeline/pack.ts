/**
 * Packs one shard batch into the worker protocol's single buffer: one
 * allocation and one copy per record, then the buffer is moved to the worker.
 * The original record bytes stay with the caller (for the DLQ and for a retry
 * after a worker crash).
 */
import type { StreamRecord } from '../lease/record-processor.js';
import type { BatchTask } from '../workers/protocol.js';

const encoder = new TextEncoder();

export interface PackedBatch {
  readonly task: BatchTask;
  readonly transferList: ArrayBuffer[];
}

export function packBatch(shardId: string, records: readonly StreamRecord[]): PackedBatch {
  const count = records.length;
  let payloadBytes = 0;
  let sequenceBytes = 0;
  for (const record of records) {
    payloadBytes += record.data.byteLength;
    // Sequence numbers are ASCII digits: one byte per character.
    sequenceBytes += record.sequenceNumber.length;
  }
  const buffer = new ArrayBuffer(payloadBytes + sequenceBytes);
  const bytes = new Uint8Array(buffer);
  const offsets = new Uint32Array(2 * (count + 1));
  const arrivalMs = new Float64Array(count);
  let at = 0;
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
    at += encoder.encodeInto(records[i]!.sequenceNumber, bytes.subarray(at)).written;
  }
  offsets[2 * count + 1] = at;
  return {
    task: { shardId, count, buffer, offsets, arrivalMs },
    transferList: [buffer, offsets.buffer as ArrayBuffer, arrivalMs.buffer as ArrayBuffer],
  };
}
