/**
 * What record decoding (src/workers/decode) costs per record, against the
 * floor it feeds: JSON.parse of the same records' text. The pipeline target
 * is decode + parse + validate + normalise within 1.5x JSON.parse alone, so
 * decoding must stay a fraction of a parse. Payloads are views into one
 * packed buffer, as in the worker.
 */
import { gzipSync } from 'node:zlib';
import type { BenchSuite } from '../harness.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { decodeRecord, decodeRecordToSink, encodeKplAggregate, type DecodeSink, type DecodedSubRecord } from '../../src/workers/decode/index.js';

const PER_OP = 100;

/** Counts what it is given, so that a case measures decoding and nothing else. */
class CountingSink implements DecodeSink {
  texts = 0;
  failures = 0;

  text(): void {
    this.texts++;
  }

  failure(): void {
    this.failures++;
  }
}

/** The payloads back to back in one buffer, each a view of it. */
function packed(payloads: readonly Uint8Array[]): Uint8Array[] {
  const buffer = new Uint8Array(payloads.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  return payloads.map((p) => {
    buffer.set(p, offset);
    offset += p.length;
    return buffer.subarray(offset - p.length, offset);
  });
}

export function decodeSuite(): BenchSuite {
  // The default mix (5% errors with stack traces), without invalid records so that JSON.parse never throws.
  const simulator = new LogSimulator({ seed: 11, errorRatio: 0.05, invalidRatio: 0 });
  const records = Array.from({ length: PER_OP }, () => simulator.next().data);
  const utf8 = new TextDecoder();
  const texts = records.map((r) => utf8.decode(r));
  const joined = new TextEncoder().encode(`${texts.join('\n')}\n`);

  const plain = packed(records);
  const [batch, aggregate, gzipBatch] = packed([
    joined,
    encodeKplAggregate(records.map((data, i) => ({ partitionKey: `pod-${i % 8}`, data }))),
    gzipSync(joined),
  ]) as [Uint8Array, Uint8Array, Uint8Array];
  const gzipped = packed(records.map((r) => gzipSync(r)));

  const sink = new CountingSink();
  const decodeAll = (payloads: readonly Uint8Array[]): number => {
    for (const payload of payloads) decodeRecordToSink(payload, sink);
    return sink.texts;
  };
  // A case that decodes to anything but PER_OP records would measure the wrong thing.
  for (const payloads of [plain, [batch], [aggregate], gzipped, [gzipBatch]]) {
    const before = sink.texts;
    decodeAll(payloads);
    if (sink.texts - before !== PER_OP || sink.failures !== 0) throw new Error('decode bench: a case did not decode to its records');
  }
  const subRecords: DecodedSubRecord[] = [];

  return {
    name: 'decode',
    description: `record decoding, ${PER_OP} simulator records per op (avg ${Math.round(joined.length / PER_OP)} bytes)`,
    unit: 'record',
    cases: [
      {
        name: 'JSON.parse of the decoded text',
        baseline: true,
        unitsPerOp: PER_OP,
        fn: () => {
          let keys = 0;
          for (const text of texts) keys += Object.keys(JSON.parse(text) as object).length;
          return keys;
        },
      },
      { name: 'plain records, sink (split only)', unitsPerOp: PER_OP, fn: () => decodeAll(plain) },
      {
        name: 'plain records, array of sub-records',
        unitsPerOp: PER_OP,
        fn: () => {
          for (const payload of plain) {
            subRecords.length = 0;
            decodeRecord(payload, subRecords);
          }
          return subRecords.length;
        },
      },
      {
        name: 'plain records, decode + JSON.parse',
        unitsPerOp: PER_OP,
        fn: () => {
          let keys = 0;
          for (const payload of plain) {
            subRecords.length = 0;
            decodeRecord(payload, subRecords);
            for (const sub of subRecords) if (sub.failure === undefined) keys += Object.keys(JSON.parse(sub.text) as object).length;
          }
          return keys;
        },
      },
      { name: `newline-joined, 1 batch of ${PER_OP}`, unitsPerOp: PER_OP, fn: () => decodeAll([batch]) },
      { name: `KPL, 1 aggregate of ${PER_OP} (MD5 checked)`, unitsPerOp: PER_OP, fn: () => decodeAll([aggregate]) },
      { name: `gzip, ${PER_OP} single-record payloads`, unitsPerOp: PER_OP, fn: () => decodeAll(gzipped) },
      { name: `gzip, 1 newline-joined batch of ${PER_OP}`, unitsPerOp: PER_OP, fn: () => decodeAll([gzipBatch]) },
    ],
  };
}
