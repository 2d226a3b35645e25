/**
 * Validating an already-parsed log record: the compiled typia validator the
 * worker uses (src/workers/validate-record.ts) against ajv (a JSON schema of
 * the same type, compiled once, `allErrors: false`, formats from
 * ajv-formats) and zod (a schema of the same type, `safeParse`), on the same
 * objects: valid records from the simulator's default mix, and separately
 * the invalid records of that mix that still parse as JSON (missing field,
 * wrong type, no header parsed) and the oversized ones (a log_content over
 * 256 KiB). JSON.parse of the valid records is there for scale: validation
 * is a fraction of a parse.
 *
 * The ajv and zod schemas are written by hand, the way a user of each would;
 * the suite refuses to run if the three do not agree on every record.
 * Differences that remain: typia's `validate` collects every error (ajv stops
 * at the first with `allErrors: false`, zod collects all); zod builds a new
 * output object (loose objects, so unknown keys are kept as typia and ajv
 * keep them); ajv counts string lengths in code points (JSON Schema: a loop
 * over every string), typia and zod read `.length` (UTF-16 units), so one
 * more case runs ajv with `unicode: false`, which counts as they do.
 * ajv-formats' date-time also checks the calendar; typia's is one regex.
 */
import { Ajv, type SchemaObject } from 'ajv';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import type { BenchCase, BenchSuite, RunOptions } from '../harness.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { validateLogRecord } from '../../src/workers/validate-record.js';

const bounded = (min: number, max: number): SchemaObject => ({ type: 'string', minLength: min, maxLength: max });
const upTo = (max: number): SchemaObject => ({ type: 'string', maxLength: max });
const stringMap: SchemaObject = { type: 'object', additionalProperties: { type: 'string' } };

/** src/schema/log-record.ts as a JSON schema. */
const LOG_RECORD_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['timestamp', 'level', 'service', 'message', 'log_content'],
  properties: {
    timestamp: { type: 'string', format: 'date-time' },
    level: { enum: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'] },
    service: bounded(1, 128),
    message: upTo(16384),
    log_content: bounded(1, 262144),
    logger: upTo(512),
    thread: upTo(256),
    trace_id: upTo(128),
    span_id: upTo(128),
    request_id: upTo(128),
    kubernetes: {
      type: 'object',
      required: ['namespace_name', 'pod_name', 'container_name'],
      properties: {
        namespace_name: bounded(1, 253),
        pod_name: bounded(1, 253),
        container_name: bounded(1, 253),
        pod_id: { type: 'string' },
        host: { type: 'string' },
        container_image: { type: 'string' },
        labels: stringMap,
        annotations: stringMap,
      },
    },
  },
};

const zodBounded = (min: number, max: number) => z.string().min(min).max(max);
const zodStringMap = z.record(z.string(), z.string());

/** src/schema/log-record.ts as a zod schema. */
const ZOD_LOG_RECORD = z.looseObject({
  timestamp: z.iso.datetime({ offset: true }),
  level: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL']),
  service: zodBounded(1, 128),
  message: z.string().max(16384),
  log_content: zodBounded(1, 262144),
  logger: z.string().max(512).optional(),
  thread: z.string().max(256).optional(),
  trace_id: z.string().max(128).optional(),
  span_id: z.string().max(128).optional(),
  request_id: z.string().max(128).optional(),
  kubernetes: z
    .looseObject({
      namespace_name: zodBounded(1, 253),
      pod_name: zodBounded(1, 253),
      container_name: zodBounded(1, 253),
      pod_id: z.string().optional(),
      host: z.string().optional(),
      container_image: z.string().optional(),
      labels: zodStringMap.optional(),
      annotations: zodStringMap.optional(),
    })
    .optional(),
});

export function validationSuite(options: RunOptions): BenchSuite {
  const validCount = options.quick ? 200 : 1000;
  const invalidCount = options.quick ? 40 : 200;
  const oversizedCount = options.quick ? 4 : 20;
  const utf8 = new TextDecoder();
  const parse = (data: Uint8Array): unknown => {
    try {
      return JSON.parse(utf8.decode(data));
    } catch {
      return undefined;
    }
  };

  const mix = new LogSimulator({ seed: 7, errorRatio: 0.05, invalidRatio: 0.01 });
  const validTexts: string[] = [];
  while (validTexts.length < validCount) {
    const event = mix.next();
    if (event.kind === 'valid') validTexts.push(utf8.decode(event.data));
  }
  const valid: unknown[] = validTexts.map((text) => JSON.parse(text));
  // The mix has 1% invalid records: the same simulator with only invalid ones gives enough of them.
  const broken = new LogSimulator({ seed: 7, errorRatio: 0.05, invalidRatio: 1 });
  const invalid: unknown[] = [];
  const oversized: unknown[] = [];
  const kinds = new Map<string, number>();
  while (invalid.length < invalidCount || oversized.length < oversizedCount) {
    const event = broken.next();
    const parsed = event.kind === 'invalid' ? parse(event.data) : undefined;
    if (typeof parsed !== 'object' || parsed === null) continue;
    const set = event.label === 'invalid:oversized' ? oversized : invalid;
    if (set.length === (set === oversized ? oversizedCount : invalidCount)) continue;
    set.push(parsed);
    if (set === invalid) kinds.set(event.label, (kinds.get(event.label) ?? 0) + 1);
  }

  const ajv = new Ajv({ allErrors: false });
  addFormats.default(ajv, ['date-time']);
  const ajvValidate = ajv.compile(LOG_RECORD_SCHEMA);
  // Lengths in UTF-16 units as typia and zod count them (the option is deprecated: no logger for its warning).
  const ajvUtf16 = new Ajv({ allErrors: false, unicode: false, logger: false });
  addFormats.default(ajvUtf16, ['date-time']);
  const ajvUtf16Validate = ajvUtf16.compile(LOG_RECORD_SCHEMA);

  const typia = (object: unknown): boolean => validateLogRecord(object).success;
  const ajvCheck = (object: unknown): boolean => ajvValidate(object);
  const ajvUtf16Check = (object: unknown): boolean => ajvUtf16Validate(object);
  const zod = (object: unknown): boolean => ZOD_LOG_RECORD.safeParse(object).success;

  // A schema that drifted from the type would measure something else: all of them must agree.
  for (const [set, expected] of [[valid, true], [invalid, false], [oversized, false]] as const) {
    for (const object of set) {
      const verdicts = { typia: typia(object), ajv: ajvCheck(object), ajvUtf16: ajvUtf16Check(object), zod: zod(object) };
      if (Object.values(verdicts).some((verdict) => verdict !== expected)) {
        throw new Error(`validation bench: validators disagree (${JSON.stringify(verdicts)}, expected ${expected}) on ${JSON.stringify(object).slice(0, 300)}`);
      }
    }
  }

  const run = (objects: readonly unknown[], validate: (object: unknown) => boolean) => () => {
    let passed = 0;
    for (const object of objects) if (validate(object)) passed++;
    return passed;
  };
  const kindList = [...kinds.entries()].map(([label, n]) => `${label.replace('invalid:', '')} ${n}`).join(', ');
  const cases = (label: string, objects: readonly unknown[], baseline = false): BenchCase[] => [
    { name: `typia validate, ${label}`, baseline, unitsPerOp: objects.length, fn: run(objects, typia) },
    { name: `ajv, ${label}`, unitsPerOp: objects.length, fn: run(objects, ajvCheck) },
    ...(baseline ? [{ name: `ajv with unicode: false, ${label}`, unitsPerOp: objects.length, fn: run(objects, ajvUtf16Check) }] : []),
    { name: `zod safeParse, ${label}`, unitsPerOp: objects.length, fn: run(objects, zod) },
  ];

  return {
    name: 'validation',
    description: `already-parsed records per op (ajv: allErrors false, ajv-formats date-time): ${validCount} valid (the default mix), ${invalidCount} invalid (${kindList}), or ${oversizedCount} oversized (log_content over 256 KiB)`,
    unit: 'record',
    cases: [
      ...cases('valid records', valid, true),
      ...cases('invalid records', invalid),
      ...cases('oversized records', oversized),
      {
        name: 'JSON.parse of the valid records (for scale)',
        unitsPerOp: validCount,
        fn: () => {
          let keys = 0;
          for (const text of validTexts) keys += Object.keys(JSON.parse(text) as object).length;
          return keys;
        },
      },
    ],
  };
}
