/**
 * gzip payloads (Fluent Bit's `compression gzip`, producers that compress
 * batches), inflated with a hard output limit.
 */
import { gunzipSync } from 'node:zlib';
import type { DecodeSink } from './sink.js';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function isOutputLimitError(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * Inflates `bytes` to at most `maxBytes`, or reports the failure as sub-record
 * `subSequenceNumber` and returns undefined. zlib stops as soon as the output
 * passes the limit, so a bomb costs no more than the limit in memory and time.
 * Concatenated gzip members are inflated as one stream, as gunzip(1) does.
 */
export function gunzipBounded(bytes: Uint8Array, maxBytes: number, subSequenceNumber: number, sink: DecodeSink): Uint8Array | undefined {
  if (maxBytes < 1) {
    sink.failure(subSequenceNumber, 'payload_too_large', 'gzip data and no maxDecodedBytes left for this record');
    return undefined;
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    if (isOutputLimitError(error)) {
      sink.failure(subSequenceNumber, 'payload_too_large', `gzip data inflates past ${maxBytes} bytes (what maxDecodedBytes leaves for this record)`);
    } else {
      sink.failure(subSequenceNumber, 'gzip_corrupt', `gzip: ${error instanceof Error ? error.message : String(error)}`);
    }
    return undefined;
  }
}
