/**
 * How fast the simulator makes records, against the floor of serialising an
 * already-built record (what producing costs without generating anything).
 */
import type { BenchSuite } from '../harness.js';
import { LogSimulator, type SimulatedEvent } from '../../src/simulator/generator.js';

const PER_OP = 100;
const encoder = new TextEncoder();

function drain(simulator: LogSimulator): SimulatedEvent {
  let last!: SimulatedEvent;
  for (let i = 0; i < PER_OP; i++) last = simulator.next();
  return last;
}

export function simulatorSuite(): BenchSuite {
  const sample = new LogSimulator({ seed: 1, errorRatio: 1, invalidRatio: 0 }).next();
  if (sample.kind !== 'valid') throw new Error('expected a valid sample record');
  const prebuilt = sample.record;
  const mixed = new LogSimulator({ seed: 1, errorRatio: 0.05, invalidRatio: 0.01 });
  const errorsOnly = new LogSimulator({ seed: 2, errorRatio: 1, invalidRatio: 0 });
  const trafficOnly = new LogSimulator({ seed: 3, errorRatio: 0, invalidRatio: 0 });
  return {
    name: 'simulator',
    description: `record generation, ${PER_OP} records per op`,
    unit: 'record',
    cases: [
      {
        name: 'serialise a prebuilt error record',
        baseline: true,
        unitsPerOp: PER_OP,
        fn: () => {
          let bytes = 0;
          for (let i = 0; i < PER_OP; i++) bytes += encoder.encode(JSON.stringify(prebuilt)).byteLength;
          return bytes;
        },
      },
      { name: 'simulator: default mix (5% errors, 1% invalid)', unitsPerOp: PER_OP, fn: () => drain(mixed) },
      { name: 'simulator: normal traffic only', unitsPerOp: PER_OP, fn: () => drain(trafficOnly) },
      { name: 'simulator: error scenarios only (stack traces)', unitsPerOp: PER_OP, fn: () => drain(errorsOnly) },
    ],
  };
}
