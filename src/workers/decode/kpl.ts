/**
 * KPL aggregated records, the Kinesis Producer Library's format
 * (awslabs/amazon-kinesis-producer, aggregation-format.md):
 *
 *   F3 89 9A C2 (magic) | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *
 *   message AggregatedRecord {
 *     repeated string partition_key_table     = 1;
 *     repeated string explicit_hash_key_table = 2;
 *     repeated Record records                 = 3;
 *   }
 *   message Record {
 *     required uint64 partition_key_index     = 1;
 *     optional uint64 explicit_hash_key_index = 2;
 *     required bytes  data                    = 3;
 *     repeated Tag    tags                    = 4;
 *   }
 *   message Tag { required string key = 1; optional string value = 2; }
 *
 * The reader is hand-written: three message types do not justify a protobuf
 * dependency, and it hands out offsets into the payload instead of copies.
 * It differs from the KCL's de-aggregation on purpose: a bad checksum or a
 * malformed protobuf fails the whole aggregate (the KCL passes such a record
 * on as if it were not aggregated, which would put protobuf bytes in front of
 * the JSON parser), and no sub-record is filtered out by its hash key (the KCL
 * drops those outside the shard's range after a reshard; we keep them all).
 */
import { createHash } from 'node:crypto';

export const KPL_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const MD5_BYTES = 16;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const MAX_VARINT_BYTES = 10;

export function isKplAggregate(bytes: Uint8Array): boolean {
  return bytes.length >= KPL_MAGIC.length && bytes[0] === 0xf3 && bytes[1] === 0x89 && bytes[2] === 0x9a && bytes[3] === 0xc2;
}

export interface KplSubRecords {
  readonly ok: true;
  /** Each sub-record's data as [start, end) offsets into the payload, flattened: 2 numbers per sub-record. */
  readonly data: number[];
}

export interface KplFailure {
  readonly ok: false;
  readonly reason: 'kpl_checksum_mismatch' | 'kpl_malformed';
  readonly message: string;
}

/** Reads protobuf fields from a byte range; after the first malformation, `error` says what and every read returns -1. */
class ProtoReader {
  error = '';

  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  fail(message: string): -1 {
    if (this.error === '') this.error = `${message} (at byte ${this.pos})`;
    this.pos = this.end;
    return -1;
  }

  /** An unsigned varint as a number: exact below 2^53, which covers every index and length that can fit in a record. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) return this.fail('varint runs past the end of its message');
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    return this.fail(`varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** The length of a length-delimited field, checked against the bytes left; `pos` is left at its first byte. */
  length(): number {
    const length = this.varint();
    if (length > this.end - this.pos) return this.fail(`field length ${length} runs past the end of its message`);
    return length;
  }

  /** Skips a field this reader has no use for, as protobuf parsers skip unknown fields. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) {
      this.varint();
      return;
    }
    const size = wire === WIRE_LEN ? this.length() : wire === WIRE_I64 ? 8 : wire === WIRE_I32 ? 4 : this.fail(`unsupported wire type ${wire}`);
    if (size > this.end - this.pos) this.fail(`${size}-byte field runs past the end of its message`);
    else if (size > 0) this.pos += size;
  }

  /**
   * Known fields must come with their declared wire type; a mismatch means the
   * bytes are not this message. `record` is the sub-record being read, or -1.
   */
  expectWire(record: number, field: number, wire: number, expected: number): boolean {
    if (wire === expected) return true;
    this.fail(`${where(record)}: field ${field} has wire type ${wire}, expected ${expected}`);
    return false;
  }
}

/** Names the message being read, for error messages (built only when one is). */
function where(record: number): string {
  return record < 0 ? 'AggregatedRecord' : `record ${record}`;
}

/** What reading one AggregatedRecord collects. */
interface Aggregate {
  keys: number;
  hashKeys: number;
  maxKey: number;
  maxHashKey: number;
  /** [start, end) of each sub-record's data, flattened. */
  readonly data: number[];
}

function readRecord(r: ProtoReader, end: number, aggregate: Aggregate): void {
  const record = aggregate.data.length / 2;
  const outerEnd = r.end;
  r.end = end;
  let key = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (r.pos < r.end && r.error === '') {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    switch (field) {
      case -1: // the tag's varint failed
        break;
      case 0:
        r.fail(`${where(record)}: field number 0`);
        break;
      case 1:
        if (r.expectWire(record, field, wire, WIRE_VARINT)) key = r.varint();
        break;
      case 2:
        if (r.expectWire(record, field, wire, WIRE_VARINT)) aggregate.maxHashKey = Math.max(aggregate.maxHashKey, r.varint());
        break;
      case 3:
        if (r.expectWire(record, field, wire, WIRE_LEN)) {
          const size = r.length();
          if (size >= 0) {
            dataStart = r.pos;
            dataEnd = r.pos += size;
          }
        }
        break;
      case 4: // tags: not needed here
        if (r.expectWire(record, field, wire, WIRE_LEN)) r.skip(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  if (r.error === '' && key < 0) r.fail(`${where(record)}: no partition_key_index`);
  if (r.error === '' && dataStart < 0) r.fail(`${where(record)}: no data`);
  r.end = outerEnd;
  aggregate.maxKey = Math.max(aggregate.maxKey, key);
  aggregate.data.push(dataStart, dataEnd);
}

/**
 * Checks an aggregate's MD5, then its protobuf, and returns where each
 * sub-record's data is. A partly valid aggregate returns no sub-record: they
 * are all or nothing.
 */
export function deaggregate(payload: Uint8Array): KplSubRecords | KplFailure {
  const protoEnd = payload.length - MD5_BYTES;
  if (protoEnd < KPL_MAGIC.length) {
    return { ok: false, reason: 'kpl_malformed', message: `${payload.length} bytes is too short for the magic number and an MD5` };
  }
  const digest = createHash('md5').update(payload.subarray(KPL_MAGIC.length, protoEnd)).digest();
  for (let i = 0; i < MD5_BYTES; i++) {
    if (digest[i] !== payload[protoEnd + i]) {
      const stored = Buffer.from(payload.buffer, payload.byteOffset + protoEnd, MD5_BYTES).toString('hex');
      return { ok: false, reason: 'kpl_checksum_mismatch', message: `MD5 of the protobuf is ${digest.toString('hex')}, the record says ${stored}` };
    }
  }

  const r = new ProtoReader(payload, KPL_MAGIC.length, protoEnd);
  const aggregate: Aggregate = { keys: 0, hashKeys: 0, maxKey: -1, maxHashKey: -1, data: [] };
  while (r.pos < r.end && r.error === '') {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) r.fail(`${where(-1)}: field number 0`);
    else if (field > 3) r.skip(wire);
    else if (field > 0 && r.expectWire(-1, field, wire, WIRE_LEN)) {
      const length = r.length();
      const end = r.pos + length;
      if (length < 0) break;
      if (field === 1) aggregate.keys++;
      else if (field === 2) aggregate.hashKeys++;
      else readRecord(r, end, aggregate);
      if (r.error === '') r.pos = end;
    }
  }
  if (r.error === '' && aggregate.maxKey >= aggregate.keys) {
    r.fail(`partition_key_index ${aggregate.maxKey} is outside the table of ${aggregate.keys} keys`);
  }
  if (r.error === '' && aggregate.maxHashKey >= aggregate.hashKeys) {
    r.fail(`explicit_hash_key_index ${aggregate.maxHashKey} is outside the table of ${aggregate.hashKeys} keys`);
  }
  if (r.error !== '') return { ok: false, reason: 'kpl_malformed', message: r.error };
  return { ok: true, data: aggregate.data };
}

export interface KplRecordInput {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** A decimal 128-bit hash key that overrides the partition key's hash, as in PutRecord. */
  readonly explicitHashKey?: string | undefined;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

function writeBytesField(out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  out[pos++] = tag;
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

const bytesFieldSize = (bytes: Uint8Array): number => 1 + varintSize(bytes.length) + bytes.length;

/**
 * One KPL aggregate of `records`, as the KPL writes it: partition keys and
 * explicit hash keys de-duplicated into their tables, no tags. For tests,
 * the simulator and benchmarks; nothing in the consumer aggregates.
 */
export function encodeKplAggregate(records: readonly KplRecordInput[]): Uint8Array {
  const encoder = new TextEncoder();
  const keys = new Map<string, number>();
  const hashKeys = new Map<string, number>();
  const intern = (table: Map<string, number>, value: string): number => {
    let index = table.get(value);
    if (index === undefined) table.set(value, (index = table.size));
    return index;
  };
  const entries = records.map((record) => {
    const key = intern(keys, record.partitionKey);
    const hashKey = record.explicitHashKey === undefined ? undefined : intern(hashKeys, record.explicitHashKey);
    const size = 1 + varintSize(key) + (hashKey === undefined ? 0 : 1 + varintSize(hashKey)) + bytesFieldSize(record.data);
    return { key, hashKey, data: record.data, size };
  });
  const keyBytes = [...keys.keys()].map((k) => encoder.encode(k));
  const hashKeyBytes = [...hashKeys.keys()].map((k) => encoder.encode(k));

  let protoSize = 0;
  for (const bytes of [...keyBytes, ...hashKeyBytes]) protoSize += bytesFieldSize(bytes);
  for (const entry of entries) protoSize += 1 + varintSize(entry.size) + entry.size;

  const start = KPL_MAGIC.length;
  const out = new Uint8Array(start + protoSize + MD5_BYTES);
  out.set(KPL_MAGIC);
  let pos = start;
  for (const bytes of keyBytes) pos = writeBytesField(out, pos, (1 << 3) | WIRE_LEN, bytes);
  for (const bytes of hashKeyBytes) pos = writeBytesField(out, pos, (2 << 3) | WIRE_LEN, bytes);
  for (const entry of entries) {
    out[pos++] = (3 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, entry.size);
    out[pos++] = (1 << 3) | WIRE_VARINT;
    pos = writeVarint(out, pos, entry.key);
    if (entry.hashKey !== undefined) {
      out[pos++] = (2 << 3) | WIRE_VARINT;
      pos = writeVarint(out, pos, entry.hashKey);
    }
    pos = writeBytesField(out, pos, (3 << 3) | WIRE_LEN, entry.data);
  }
  out.set(createHash('md5').update(out.subarray(start, pos)).digest(), pos);
  return out;
}
