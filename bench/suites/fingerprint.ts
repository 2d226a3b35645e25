/**
 * What fingerprinting costs on the worker's hot path, against what the worker
 * pays anyway: JSON.parse of the same record (the targets: a
 * single-line message at most 1x, an event with a ~20-line stack trace at
 * most 2x JSON.parse of its record). The description carries the grouping
 * accuracy on simulator events, measured in the same run.
 */
import type { BenchSuite } from '../harness.js';
import { simulatorAccuracy } from '../fingerprint-accuracy.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import type { LogRecord } from '../../src/schema/log-record.js';
import { compileFingerprinter } from '../../src/workers/fingerprint/fingerprint.js';

const PER_OP = 100;

/** PER_OP distinct records of one kind, as the JSON text a worker receives. */
function recordsOf(select: (label: string) => boolean, seed: number): { json: string[]; records: LogRecord[] } {
  const simulator = new LogSimulator({ seed, errorRatio: 0.5, invalidRatio: 0 });
  const json: string[] = [];
  while (json.length < PER_OP) {
    const event = simulator.next();
    if (event.kind === 'valid' && select(event.label)) json.push(JSON.stringify(event.record));
  }
  return { json, records: json.map((j) => JSON.parse(j) as LogRecord) };
}

export function fingerprintSuite(): BenchSuite {
  const fingerprint = compileFingerprinter();
  const single = recordsOf((label) => label.startsWith('traffic:http-access:'), 1);
  // jwt-expired: an exception line and 19 frames, the ~20-line trace of the target.
  const trace = recordsOf((label) => label === 'jwt-expired', 2);
  const accuracy = simulatorAccuracy(fingerprint, 1, 10_000);
  let sink = 0;
  const parseAll = (json: readonly string[]) => () => {
    for (const text of json) sink += (JSON.parse(text) as LogRecord).message.length;
    return sink;
  };
  const fingerprintAll = (records: readonly LogRecord[]) => () => {
    for (const record of records) sink += fingerprint(record).fingerprint.length;
    return sink;
  };
  return {
    name: 'fingerprint',
    description: `${PER_OP} records per op; GA on 10,000 simulator events: errors ${accuracy.errors.toFixed(4)}, all ${accuracy.all.toFixed(4)}, merged groups ${accuracy.merged.length}`,
    unit: 'record',
    cases: [
      { name: 'JSON.parse a single-line record', baseline: true, unitsPerOp: PER_OP, fn: parseAll(single.json) },
      { name: 'fingerprint a single-line message', unitsPerOp: PER_OP, fn: fingerprintAll(single.records) },
      { name: 'JSON.parse a record with a 20-line trace', unitsPerOp: PER_OP, fn: parseAll(trace.json) },
      { name: 'fingerprint an event with a 20-line trace', unitsPerOp: PER_OP, fn: fingerprintAll(trace.records) },
    ],
  };
}
