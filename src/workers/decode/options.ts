/**
 * Decoding limits. They bound the memory one record can take in a worker
 * (a 5 KB gzip bomb inflates to gigabytes), and their upper bounds keep the
 * sub-sequence scheme (see index.ts) within safe integers: validate settings
 * with `resolveDecodeOptions` once at start-up, not per record.
 */

export interface DecodeOptions {
  /** Largest record accepted; Kinesis's default maximum record size is 1 MiB. */
  readonly maxPayloadBytes?: number | undefined;
  /**
   * Most bytes gzip may inflate to, per Kinesis record: the budget is shared
   * by every gzip sub-record of a KPL aggregate.
   */
  readonly maxDecodedBytes?: number | undefined;
}

export interface ResolvedDecodeOptions {
  readonly maxPayloadBytes: number;
  readonly maxDecodedBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_DECODE_OPTIONS: ResolvedDecodeOptions = Object.freeze({
  maxPayloadBytes: MiB,
  maxDecodedBytes: MiB,
});

/** Kinesis's largest configurable record size. */
const MAX_PAYLOAD_BYTES_LIMIT = 10 * MiB;
const MAX_DECODED_BYTES_LIMIT = 256 * MiB;

function checkLimit(name: keyof DecodeOptions, value: number, limit: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > limit) {
    throw new RangeError(`decode option ${name} must be an integer number of bytes within 1..${limit}, got ${value}`);
  }
  return value;
}

export function resolveDecodeOptions(raw: DecodeOptions = {}): ResolvedDecodeOptions {
  return Object.freeze({
    maxPayloadBytes: checkLimit('maxPayloadBytes', raw.maxPayloadBytes ?? DEFAULT_DECODE_OPTIONS.maxPayloadBytes, MAX_PAYLOAD_BYTES_LIMIT),
    maxDecodedBytes: checkLimit('maxDecodedBytes', raw.maxDecodedBytes ?? DEFAULT_DECODE_OPTIONS.maxDecodedBytes, MAX_DECODED_BYTES_LIMIT),
  });
}
