/**
 * Record decoding: plain, newline-joined, gzip and KPL-aggregated payloads,
 * every failure reason, and payloads that are views into a larger buffer (as
 * the worker receives them).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LogSimulator, type SimulatedEvent } from '../src/simulator/generator.js';
import { INVALID_KINDS } from '../src/simulator/invalid.js';
import {
  DECODE_FAILURE_REASONS,
  SUB_RECORD_STRIDE,
  decodeRecord,
  decodeRecordToSink,
  encodeKplAggregate,
  resolveDecodeOptions,
  type DecodeFailureReason,
  type DecodeOptions,
  type DecodedSubRecord,
} from '../src/workers/decode/index.js';
import { deaggregate, type KplRecordInput } from '../src/workers/decode/kpl.js';
import { packBatch } from '../src/pipeline/pack.js';
import { decodeBatch } from '../src/workers/process-batch.js';

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => encoder.encode(text);
const MAGIC = [0xf3, 0x89, 0x9a, 0xc2];

/**
 * `bytes` as the worker sees a payload: a view at an odd offset inside a
 * bigger buffer whose neighbouring bytes would change the result if decoding
 * read past either end of the view.
 */
function inside(bytes: Uint8Array): Uint8Array {
  const before = utf8('{"neighbour":"before"}\n');
  const after = utf8('\n{"neighbour":"after"}\n');
  const buffer = new ArrayBuffer(before.length + bytes.length + after.length + 3);
  const all = new Uint8Array(buffer);
  all.set(before, 3);
  all.set(bytes, 3 + before.length);
  all.set(after, 3 + before.length + bytes.length);
  return all.subarray(3 + before.length, 3 + before.length + bytes.length);
}

function decode(payload: Uint8Array, options?: DecodeOptions): DecodedSubRecord[] {
  const out: DecodedSubRecord[] = [];
  decodeRecord(inside(payload), out, options);
  return out;
}

const texts = (subRecords: DecodedSubRecord[]): [number, string][] =>
  subRecords.map((s) => [s.subSequenceNumber, s.failure === undefined ? s.text : `FAILED ${s.failure}`]);

function onlyFailure(subRecords: DecodedSubRecord[]): { subSequenceNumber: number; failure: DecodeFailureReason; message: string } {
  expect(subRecords).toHaveLength(1);
  const [sub] = subRecords;
  if (sub?.failure === undefined) throw new Error(`expected one failure, got ${JSON.stringify(subRecords)}`);
  return sub;
}

/** A KPL aggregate around hand-made protobuf bytes, with a correct MD5. */
function aggregateOf(protobuf: readonly number[]): Uint8Array {
  const proto = Uint8Array.from(protobuf);
  return Uint8Array.from([...MAGIC, ...proto, ...createHash('md5').update(proto).digest()]);
}

const jsonRecords = (n: number, offset = 0): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ n: i + offset, note: 'héllo ✓' }));

describe('plain and newline-joined text', () => {
  it('decodes one JSON object, with or without a trailing newline, as sub-record 0', () => {
    expect(texts(decode(utf8('{"a":1}')))).toEqual([[0, '{"a":1}']]);
    expect(texts(decode(utf8('{"a":1}\n')))).toEqual([[0, '{"a":1}']]);
    expect(texts(decode(utf8('  {"a":1}\r\n\n')))).toEqual([[0, '  {"a":1}\r']]);
  });

  it('splits newline-joined objects (Fluent Bit simple_aggregation), numbering non-empty lines only', () => {
    const payload = utf8('\n{"a":1}\n\n{"b":"ü"}\n   \n\t\r\n{"c":3}\n');
    expect(texts(decode(payload))).toEqual([[0, '{"a":1}'], [1, '{"b":"ü"}'], [2, '{"c":3}']]);
  });

  it('hands out text that encodes back to the original bytes (for the DLQ)', () => {
    const line = '{"msg":"naïve ✓ 𝄞 \\u0000 \uFEFF"}';
    const [sub] = decode(utf8(`${line}\n`));
    expect(sub?.failure).toBeUndefined();
    expect(encoder.encode((sub as { text: string }).text)).toEqual(utf8(line));
  });

  it('fails only the lines that do not start with "{", keeping their numbers', () => {
    const out = decode(utf8('{"a":1}\nnot json\n{"b":2}\n[1,2]'));
    expect(texts(out)).toEqual([[0, '{"a":1}'], [1, 'FAILED not_json_object'], [2, '{"b":2}'], [3, 'FAILED not_json_object']]);
    expect(out[1]).toMatchObject({ message: 'line 2: expected "{", found byte 0x6e' });
  });

  it('fails only the line with invalid UTF-8, keeping its neighbours and numbers', () => {
    const bad = Uint8Array.from([...utf8('{"a":"'), 0xc3, 0x28, ...utf8('"}')]);
    const payload = Uint8Array.from([...utf8('{"ok":1}\n\n'), ...bad, ...utf8('\n{"ok":"é"}\n')]);
    const out = decode(payload);
    expect(texts(out)).toEqual([[0, '{"ok":1}'], [1, 'FAILED invalid_utf8'], [2, '{"ok":"é"}']]);
    expect(out[1]).toMatchObject({ message: expect.stringMatching(/^line 3 \(bytes 10\.\.20\)/) as unknown });
  });
});

describe('simulator records', () => {
  const events: SimulatedEvent[] = [];
  const simulator = new LogSimulator({ seed: 7, errorRatio: 0.3, invalidRatio: 0.2 });
  while (events.length < 3000) events.push(simulator.next());

  it('every kind decodes to exactly one sub-record; only binary garbage fails', () => {
    const kinds = new Set(events.map((e) => (e.kind === 'valid' ? (e.isError ? 'error' : 'traffic') : e.invalidKind)));
    expect([...kinds].sort()).toEqual(['error', 'traffic', ...INVALID_KINDS].sort());
    for (const event of events) {
      const out = decode(event.data);
      expect(out).toHaveLength(1);
      const sub = out[0]!;
      expect(sub.subSequenceNumber).toBe(0);
      if (event.kind === 'invalid' && event.invalidKind === 'binary-garbage') {
        expect(['not_json_object', 'invalid_utf8']).toContain(sub.failure);
      } else {
        expect(sub.failure, event.label).toBeUndefined();
        expect(sub).toMatchObject({ text: new TextDecoder().decode(event.data) });
      }
    }
  });

  it('newline-joined batches decode to one sub-record per record, in order', () => {
    const valid = events.filter((e) => e.kind === 'valid').map((e) => new TextDecoder().decode(e.data));
    for (const size of [1, 2, 17, 500]) {
      const batch = valid.slice(0, size);
      const out = decode(utf8(`${batch.join('\n')}\n`));
      expect(texts(out)).toEqual(batch.map((text, i) => [i, text]));
    }
  });
});

describe('gzip', () => {
  it('inflates a single record and a newline-joined batch', () => {
    expect(texts(decode(gzipSync('{"a":1}\n')))).toEqual([[0, '{"a":1}']]);
    const batch = jsonRecords(50);
    expect(texts(decode(gzipSync(batch.join('\n'))))).toEqual(batch.map((text, i) => [i, text]));
  });

  it('inflates concatenated gzip members as one stream', () => {
    const payload = Uint8Array.from([...gzipSync('{"a":1}\n'), ...gzipSync('{"b":2}')]);
    expect(texts(decode(payload))).toEqual([[0, '{"a":1}'], [1, '{"b":2}']]);
  });

  it('refuses to inflate past maxDecodedBytes (a bomb stops at the limit)', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const started = performance.now();
    expect(onlyFailure(decode(bomb))).toMatchObject({ subSequenceNumber: 0, failure: 'payload_too_large' });
    expect(performance.now() - started).toBeLessThan(2_000);
    const exactly = `{"x":"${'y'.repeat(1000 - 8)}"}`;
    expect(exactly).toHaveLength(1000);
    expect(texts(decode(gzipSync(exactly), { maxDecodedBytes: 1000 }))).toEqual([[0, exactly]]);
    expect(onlyFailure(decode(gzipSync(exactly), { maxDecodedBytes: 999 })).failure).toBe('payload_too_large');
  });

  it('reports a truncated or corrupt stream as gzip_corrupt', () => {
    const good = gzipSync(jsonRecords(5).join('\n'));
    expect(onlyFailure(decode(good.subarray(0, good.length - 6))).failure).toBe('gzip_corrupt');
    const badCrc = Uint8Array.from(good);
    badCrc[badCrc.length - 6]! ^= 0xff;
    expect(onlyFailure(decode(badCrc))).toMatchObject({ failure: 'gzip_corrupt', message: expect.stringMatching(/^gzip: /) as unknown });
    expect(onlyFailure(decode(Uint8Array.of(0x1f, 0x8b))).failure).toBe('gzip_corrupt');
  });

  it('decodes the inflated bytes as text only: no gzip in gzip', () => {
    expect(onlyFailure(decode(gzipSync(gzipSync('{"a":1}')))).failure).toBe('not_json_object');
    expect(onlyFailure(decode(gzipSync(''))).failure).toBe('empty_payload');
  });
});

describe('KPL aggregates', () => {
  const records = (n: number, withHashKeys = false): KplRecordInput[] =>
    jsonRecords(n).map((text, i) => ({
      partitionKey: `pk-${i % 7}`,
      data: utf8(text),
      explicitHashKey: withHashKeys && i % 3 === 0 ? `${2n ** 128n - 1n - BigInt(i % 5)}` : undefined,
    }));

  it('round-trips 1, 2 and 500 sub-records, numbered k * SUB_RECORD_STRIDE', () => {
    for (const n of [1, 2, 500]) {
      const input = records(n, true);
      const out = decode(encodeKplAggregate(input));
      expect(texts(out)).toEqual(input.map((r, k) => [k * SUB_RECORD_STRIDE, new TextDecoder().decode(r.data)]));
    }
  });

  it('keeps sub-record data binary-safe and finds it inside the payload view', () => {
    const binary = Uint8Array.from({ length: 256 * 3 }, (_, i) => i % 256);
    const input: KplRecordInput[] = [
      { partitionKey: 'a', data: binary },
      { partitionKey: 'b', data: new Uint8Array(0), explicitHashKey: '0' },
      { partitionKey: 'a', data: binary.subarray(200, 300), explicitHashKey: '340282366920938463463374607431768211455' },
    ];
    const payload = inside(encodeKplAggregate(input));
    const result = deaggregate(payload);
    if (!result.ok) throw new Error(result.message);
    const data = input.map((_, k) => payload.subarray(result.data[2 * k], result.data[2 * k + 1]));
    expect(data).toEqual(input.map((r) => r.data));
  });

  it('decodes each sub-record by the gzip and text rules, numbering lines within it', () => {
    const payload = encodeKplAggregate([
      { partitionKey: 'p', data: utf8('{"k":0}') },
      { partitionKey: 'p', data: gzipSync('{"k":1,"line":0}\n{"k":1,"line":1}\n') },
      { partitionKey: 'p', data: utf8('{"k":2,"line":0}\n\n{"k":2,"line":1}') },
      { partitionKey: 'p', data: Uint8Array.of(0x00, 0x01) },
      { partitionKey: 'p', data: new Uint8Array(0) },
      { partitionKey: 'p', data: gzipSync('{"k":5}') },
    ]);
    expect(texts(decode(payload))).toEqual([
      [0, '{"k":0}'],
      [SUB_RECORD_STRIDE, '{"k":1,"line":0}'],
      [SUB_RECORD_STRIDE + 1, '{"k":1,"line":1}'],
      [2 * SUB_RECORD_STRIDE, '{"k":2,"line":0}'],
      [2 * SUB_RECORD_STRIDE + 1, '{"k":2,"line":1}'],
      [3 * SUB_RECORD_STRIDE, 'FAILED not_json_object'],
      [4 * SUB_RECORD_STRIDE, 'FAILED empty_payload'],
      [5 * SUB_RECORD_STRIDE, '{"k":5}'],
    ]);
  });

  it('shares maxDecodedBytes between the gzip sub-records of one aggregate', () => {
    const text = `{"x":"${'y'.repeat(392)}"}`; // 400 bytes
    const payload = encodeKplAggregate([0, 1, 2].map(() => ({ partitionKey: 'p', data: gzipSync(text) })));
    expect(texts(decode(payload, { maxDecodedBytes: 1000 }))).toEqual([
      [0, text],
      [SUB_RECORD_STRIDE, text],
      [2 * SUB_RECORD_STRIDE, 'FAILED payload_too_large'],
    ]);
  });

  it('matches the specification byte for byte (protobuf assembled by hand, not by the encoder)', () => {
    const ehk = '340282366920938463463374607431768211455'; // 39 digits
    const proto = [
      0x0a, 0x01, ...utf8('a'), // partition_key_table[0] = "a"
      0x0a, 0x01, ...utf8('b'), // partition_key_table[1] = "b"
      0x12, 0x27, ...utf8(ehk), // explicit_hash_key_table[0]
      0x1a, 0x0b, //               records[0], 11 bytes:
      0x08, 0x00, //                 partition_key_index = 0
      0x1a, 0x07, ...utf8('{"n":1}'), // data
      0x1a, 0x0d, //               records[1], 13 bytes:
      0x08, 0x01, //                 partition_key_index = 1
      0x10, 0x00, //                 explicit_hash_key_index = 0
      0x1a, 0x07, ...utf8('{"n":2}'), // data
    ];
    const handMade = aggregateOf(proto);
    expect(texts(decode(handMade))).toEqual([[0, '{"n":1}'], [SUB_RECORD_STRIDE, '{"n":2}']]);
    const encoded = encodeKplAggregate([
      { partitionKey: 'a', data: utf8('{"n":1}') },
      { partitionKey: 'b', data: utf8('{"n":2}'), explicitHashKey: ehk },
    ]);
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(handMade).toString('hex'));
  });

  it('skips tags and unknown fields of every wire type, and reads multi-byte varints', () => {
    const data = utf8(`{"pad":"${'x'.repeat(190)}"}`); // 200 bytes: a two-byte length
    const record = [
      0x08, 0x80, 0x01, //                   partition_key_index = 128 (two-byte varint)
      0x22, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76, // tags[0] = {key "k", value "v"}
      0x28, ...Array<number>(9).fill(0xff), 0x01, // unknown field 5, varint 2^64 - 1 (10 bytes, the longest)
      0x31, 1, 2, 3, 4, 5, 6, 7, 8, //       unknown field 6, fixed64
      0x3d, 1, 2, 3, 4, //                   unknown field 7, fixed32
      0x42, 0x02, 0xaa, 0xbb, //             unknown field 8, bytes
      0x1a, 0xc8, 0x01, ...data, //          data (200 bytes)
    ];
    const keys = Array.from({ length: 129 }, (_, i) => [0x0a, 0x01, 0x41 + (i % 26)]).flat();
    const proto = [...keys, 0x78, 0x2a, 0x1a, record.length & 0x7f | 0x80, record.length >> 7, ...record];
    expect(texts(decode(aggregateOf(proto)))).toEqual([[0, new TextDecoder().decode(data)]]);
  });

  const malformed: [string, number[], RegExp][] = [
    ['a truncated protobuf', [0x0a, 0x05, 0x61, 0x62], /length 5 runs past the end/],
    ['a varint longer than 10 bytes', [0x0a, 0x01, 0x61, 0x1a, 0x0c, 0x08, ...Array<number>(10).fill(0x80), 0x01], /varint longer than 10 bytes/],
    ['records with the wrong wire type', [0x0a, 0x01, 0x61, 0x18, 0x01], /AggregatedRecord: field 3 has wire type 0, expected 2/],
    ['data with the wrong wire type', [0x0a, 0x01, 0x61, 0x1a, 0x04, 0x08, 0x00, 0x18, 0x01], /record 0: field 3 has wire type 0, expected 2/],
    ['a record without data', [0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x00], /record 0: no data/],
    ['a record without a partition key index', [0x0a, 0x01, 0x61, 0x1a, 0x03, 0x1a, 0x01, 0x7b], /record 0: no partition_key_index/],
    ['a partition key index outside the table', [0x0a, 0x01, 0x61, 0x1a, 0x05, 0x08, 0x01, 0x1a, 0x01, 0x7b], /partition_key_index 1 is outside the table of 1 keys/],
    ['an explicit hash key index outside the table', [0x0a, 0x01, 0x61, 0x1a, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1a, 0x01, 0x7b], /explicit_hash_key_index 0 is outside/],
    ['a group wire type', [0x0a, 0x01, 0x61, 0x4b], /unsupported wire type 3/],
    ['field number 0', [0x02, 0x00], /field number 0/],
    ['a record longer than its message', [0x0a, 0x01, 0x61, 0x1a, 0x09, 0x08, 0x00, 0x1a, 0x01, 0x7b], /runs past the end/],
  ];
  it.each(malformed)('fails the whole aggregate as kpl_malformed for %s', (_name, proto, message) => {
    expect(onlyFailure(decode(aggregateOf(proto)))).toMatchObject({ subSequenceNumber: 0, failure: 'kpl_malformed', message: expect.stringMatching(message) as unknown });
  });

  it('fails the whole aggregate on a flipped MD5 byte or a cut record', () => {
    const good = encodeKplAggregate(records(20));
    for (const at of [good.length - 1, good.length - 16, 4, 30]) {
      const flipped = Uint8Array.from(good);
      flipped[at]! ^= 0x01;
      expect(onlyFailure(decode(flipped))).toMatchObject({ subSequenceNumber: 0, failure: 'kpl_checksum_mismatch' });
    }
    expect(onlyFailure(decode(good.subarray(0, good.length - 1))).failure).toBe('kpl_checksum_mismatch');
    expect(onlyFailure(decode(good.subarray(0, 19))).failure).toBe('kpl_malformed');
  });

  it('reports an aggregate without records as empty', () => {
    expect(onlyFailure(decode(aggregateOf([0x0a, 0x01, 0x61]))).failure).toBe('empty_payload');
  });
});

describe('failure reasons', () => {
  const oneMiB = 1024 * 1024;
  const examples: Record<DecodeFailureReason, Uint8Array> = {
    empty_payload: new Uint8Array(0),
    payload_too_large: utf8(`{"x":"${'y'.repeat(oneMiB)}"}`),
    kpl_checksum_mismatch: Uint8Array.from([...MAGIC, 0x0a, 0x01, 0x61, ...new Uint8Array(16)]),
    kpl_malformed: aggregateOf([0x0a, 0x05]),
    gzip_corrupt: Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x01),
    invalid_utf8: Uint8Array.from([...utf8('{"a":"'), 0xff, ...utf8('"}')]),
    not_json_object: Uint8Array.of(0x00, ...utf8('{"a":1}')),
  };

  it.each(DECODE_FAILURE_REASONS)('%s: one failure for the whole record, as sub-record 0', (reason) => {
    const failure = onlyFailure(decode(examples[reason]));
    expect(failure).toMatchObject({ subSequenceNumber: 0, failure: reason });
    expect(failure.message.length).toBeGreaterThan(5);
  });

  it('treats whitespace-only text as empty and leading binary as not JSON', () => {
    expect(onlyFailure(decode(utf8(' \n\r\n\t'))).failure).toBe('empty_payload');
    expect(onlyFailure(decode(Uint8Array.of(0xef, 0xbb, 0xbf, ...utf8('{"bom":1}')))).failure).toBe('not_json_object');
    expect(onlyFailure(decode(utf8('"just a string"'))).failure).toBe('not_json_object');
    expect(onlyFailure(decode(Uint8Array.of(0x0a, 0x00, 0x0a, 0x7b)))).toMatchObject({ message: 'expected "{" at byte 1, found byte 0x00' });
  });

  it('applies maxPayloadBytes before looking at the content', () => {
    expect(onlyFailure(decode(utf8('{"a":1}'), { maxPayloadBytes: 6 })).failure).toBe('payload_too_large');
    expect(texts(decode(utf8('{"a":1}'), { maxPayloadBytes: 7 }))).toEqual([[0, '{"a":1}']]);
  });
});

describe('API', () => {
  it('decodeRecordToSink calls the sink in sub-sequence order, and decodeRecord appends the same', () => {
    const payload = encodeKplAggregate([
      { partitionKey: 'p', data: utf8('{"a":1}\nbad\n{"a":2}') },
      { partitionKey: 'p', data: utf8('{"b":1}') },
    ]);
    const calls: string[] = [];
    decodeRecordToSink(payload, {
      text: (n, text) => calls.push(`${n} ${text}`),
      failure: (n, reason) => calls.push(`${n} ${reason}`),
    });
    expect(calls).toEqual(['0 {"a":1}', '1 not_json_object', '2 {"a":2}', `${SUB_RECORD_STRIDE} {"b":1}`]);
    const out: DecodedSubRecord[] = [{ subSequenceNumber: -1, text: 'kept' }];
    decodeRecord(payload, out);
    expect(out.map((s) => `${s.subSequenceNumber} ${s.failure === undefined ? s.text : s.failure}`)).toEqual(['-1 kept', ...calls]);
  });

  it('decodeBatch (runs of ASCII records, one newline search per run) gives what decoding each record alone gives', () => {
    const options = resolveDecodeOptions({ maxPayloadBytes: 64 });
    const asciiOneLine = [
      '{"a":1}', '  {"a":2}', '{"a":3}  ', '{"too":"long for maxPayloadBytes, starting with a brace as a record does"}', '', '   ',
      'plain text', '{"a":4', '{"a":7}\r', '\t{"a":8}', '}{',
    ];
    const kinds = [...asciiOneLine, '{"a":5}\n{"a":6}', '{"a":10}\n', 'Grüße {"a":9}', '{"a":"ünïcode"}'];
    // Runs of 32: all ASCII without a newline (the shortcut), then mixed ones; each kind at several positions; a short run last.
    const run = (list: readonly string[], shift: number): string[] => Array.from({ length: 32 }, (_, i) => list[(i * 5 + shift) % list.length]!);
    const payloads = [...run(asciiOneLine, 0), ...run(kinds, 1), ...run(asciiOneLine, 3), ...run(kinds, 2).slice(0, 5)];
    const batch = payloads.map((text, i) => ({ data: utf8(text), sequenceNumber: String(1000 + i), partitionKey: 'p', approximateArrivalMs: undefined }));
    const fromBatch: string[][] = payloads.map(() => []);
    let current = -1;
    decodeBatch(packBatch('s', batch).task, {
      startRecord: (index) => (current = index),
      text: (n, text) => fromBatch[current]!.push(`${n} ${text}`),
      failure: (n, reason) => fromBatch[current]!.push(`${n} ${reason}`),
    }, options);
    const alone = payloads.map((text) => {
      const out: DecodedSubRecord[] = [];
      decodeRecord(utf8(text), out, options);
      return out.map((s) => `${s.subSequenceNumber} ${s.failure === undefined ? s.text : s.failure}`);
    });
    expect(fromBatch).toEqual(alone);
    const failures = alone.flat().map((line) => line.slice(line.indexOf(' ') + 1)).filter((rest) => !rest.includes('{'));
    expect(new Set(failures)).toEqual(new Set(['payload_too_large', 'empty_payload', 'not_json_object']));
  });

  it('resolveDecodeOptions applies defaults and rejects limits that would break the sub-sequence scheme', () => {
    expect(resolveDecodeOptions()).toEqual({ maxPayloadBytes: 1024 * 1024, maxDecodedBytes: 1024 * 1024 });
    expect(Object.isFrozen(resolveDecodeOptions({ maxDecodedBytes: 5 }))).toBe(true);
    expect(() => resolveDecodeOptions({ maxPayloadBytes: 11 * 1024 * 1024 })).toThrow(/maxPayloadBytes must be an integer number of bytes within 1\.\.10485760, got 11534336/);
    expect(() => resolveDecodeOptions({ maxDecodedBytes: 0 })).toThrow(RangeError);
    expect(() => resolveDecodeOptions({ maxDecodedBytes: Number.NaN })).toThrow(/maxDecodedBytes/);
    expect(() => resolveDecodeOptions({ maxDecodedBytes: 1.5 })).toThrow(/maxDecodedBytes/);
  });
});
