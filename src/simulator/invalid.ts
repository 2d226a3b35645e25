/**
 * Records a broken producer could put on the stream. Each kind must end up in
 * the dead-letter queue with a reason of its own; the kind is the ground truth.
 * `unparsed` is what our own Fluent Bit pipeline ships for a line its header
 * parser did not match (a pod printing another format, the tail of a trace cut
 * by the flush timer): only `log_content` and `kubernetes`.
 */
import type { Faker } from '@faker-js/faker';
import { MAX_LOG_CONTENT_BYTES, type LogRecord } from '../schema/log-record.js';

export const INVALID_KINDS = ['malformed-json', 'missing-field', 'wrong-type', 'binary-garbage', 'oversized', 'unparsed'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

const encoder = new TextEncoder();

/** Turns a valid record into an invalid payload of the given kind. */
export function corruptRecord(kind: InvalidKind, valid: LogRecord, f: Faker): Uint8Array {
  switch (kind) {
    case 'malformed-json': {
      const json = JSON.stringify(valid);
      return encoder.encode(json.slice(0, f.number.int({ min: 1, max: json.length - 2 })));
    }
    case 'missing-field': {
      const field = f.helpers.arrayElement(['level', 'service', 'timestamp', 'log_content'] as const);
      const copy: Partial<LogRecord> = { ...valid };
      delete copy[field];
      return encoder.encode(JSON.stringify(copy));
    }
    case 'wrong-type': {
      const broken = f.helpers.arrayElement([
        { ...valid, level: 40 },
        { ...valid, timestamp: Date.parse(valid.timestamp) },
        { ...valid, service: ['order-service'] },
        { ...valid, kubernetes: 'default/pod' },
      ]);
      return encoder.encode(JSON.stringify(broken));
    }
    case 'binary-garbage': {
      const bytes = new Uint8Array(f.number.int({ min: 16, max: 512 }));
      for (let i = 0; i < bytes.length; i++) bytes[i] = f.number.int({ min: 0, max: 255 });
      // A leading non-JSON, non-gzip byte keeps it garbage to every decoder.
      bytes[0] = 0x00;
      return bytes;
    }
    case 'unparsed':
      return encoder.encode(JSON.stringify({ log_content: valid.log_content.split('\n').slice(1).join('\n') || 'Picked up JAVA_TOOL_OPTIONS: -XX:MaxRAMPercentage=75', kubernetes: valid.kubernetes }));
    case 'oversized': {
      const filler = 'x'.repeat(MAX_LOG_CONTENT_BYTES + f.number.int({ min: 1, max: 64 * 1024 }));
      return encoder.encode(JSON.stringify({ ...valid, log_content: `${valid.log_content}\n${filler}` }));
    }
  }
}
