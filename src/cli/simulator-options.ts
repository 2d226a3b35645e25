/** The simulator's command-line options, shared by `cali simulate` and `cali local`. */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ProducerEntry } from '../simulator/producer.js';
import { DEFAULT_SIMULATOR_OPTIONS, steppingClock, type SimulatedEvent, type SimulatorOptions } from '../simulator/generator.js';
import { ERROR_SCENARIOS } from '../simulator/scenarios.js';
import { intOption, numberOption } from './options.js';

export interface SimulatorFlags {
  rate: number;
  seed: number;
  errorRatio: number;
  invalidRatio: number;
  storm: boolean;
  stormEvery: number;
  stormFor: number;
  stormScenario?: string;
  startTime?: number;
}

function isoTime(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError(`expected an ISO-8601 time such as 2026-11-29T10:00:00Z, got "${value}"`);
  }
  return ms;
}

export function addSimulatorOptions(command: Command, defaultRate: number): Command {
  const d = DEFAULT_SIMULATOR_OPTIONS;
  return command
    .addOption(new Option('--rate <records/s>', 'records per second').argParser(numberOption(0.1, 100_000)).default(defaultRate))
    .addOption(new Option('--seed <n>', 'random seed: the same seed gives the same events').argParser(intOption(0)).default(d.seed))
    .addOption(new Option('--error-ratio <0..1>', 'share of events that are error scenarios').argParser(numberOption(0, 1)).default(d.errorRatio))
    .addOption(new Option('--invalid-ratio <0..1>', 'share of records that are invalid (DLQ path)').argParser(numberOption(0, 1)).default(d.invalidRatio))
    .addOption(new Option('--no-storm', 'no incident storms'))
    .addOption(new Option('--storm-every <s>', 'seconds between the starts of two storms').argParser(numberOption(1)).default(d.storm.periodMs / 1000))
    .addOption(new Option('--storm-for <s>', 'seconds a storm lasts (one scenario at 50x its rate)').argParser(numberOption(1)).default(d.storm.durationMs / 1000))
    .addOption(new Option('--storm-scenario <id>', 'always storm this scenario (default: take turns)').choices(ERROR_SCENARIOS.map((s) => s.id)))
    .addOption(new Option('--start-time <iso>', 'simulated clock: events are stamped from this time, 1/rate s apart (with --seed: byte-for-byte reproducible output)').argParser(isoTime));
}

export function simulatorOptionsFrom(flags: SimulatorFlags): SimulatorOptions {
  return {
    seed: flags.seed,
    ...(flags.startTime === undefined ? {} : { clock: steppingClock(flags.startTime, 1000 / flags.rate) }),
    errorRatio: flags.errorRatio,
    invalidRatio: flags.invalidRatio,
    storm: flags.storm
      ? {
        periodMs: flags.stormEvery * 1000,
        durationMs: Math.min(flags.stormFor, flags.stormEvery) * 1000,
        multiplier: DEFAULT_SIMULATOR_OPTIONS.storm.multiplier,
        ...(flags.stormScenario === undefined ? {} : { scenarioId: flags.stormScenario }),
      }
      : undefined,
  };
}

/** Random partition keys, as Fluent Bit's kinesis_streams output uses when none is configured. */
export function toProducerEntries(events: readonly SimulatedEvent[]): ProducerEntry[] {
  const keys = randomBytes(events.length * 8);
  return events.map((event, i) => ({ data: event.data, partitionKey: keys.toString('hex', i * 8, i * 8 + 8) }));
}
