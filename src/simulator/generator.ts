/**
 * The log simulator: a seeded, reproducible stream of events from the simulated
 * shop. Each event comes in both shapes: the raw text the application printed
 * (what Fluent Bit tails) and the record our Fluent Bit configuration ships to
 * Kinesis for it. With the same seed and clock it produces the same events.
 */
import { base, en, Faker } from '@faker-js/faker';
import type { KubernetesMetadata, LogLevel, LogRecord } from '../schema/log-record.js';
import { INVALID_KINDS, corruptRecord, type InvalidKind } from './invalid.js';
import { formatHeader, formatTimestamp } from './log-format.js';
import { ERROR_SCENARIOS, scenarioById, type ErrorScenario } from './scenarios.js';
import { SERVICES, type ServiceDefinition } from './services.js';
import { TRAFFIC_TEMPLATES } from './traffic.js';

export interface StormOptions {
  /** A storm starts every `periodMs` and lasts `durationMs` (it ends each period). */
  readonly periodMs: number;
  readonly durationMs: number;
  /** How many times its usual rate the storm scenario fires during a storm. */
  readonly multiplier: number;
  /** Fixed storm scenario; by default the scenarios take turns, one per storm. */
  readonly scenarioId?: string;
}

export interface SimulatorOptions {
  readonly seed: number;
  /** Share of valid events that are error scenarios, 0..1. */
  readonly errorRatio: number;
  /** Share of records that are invalid (for the DLQ path), 0..1. */
  readonly invalidRatio: number;
  readonly storm?: StormOptions | undefined;
  /** Event time source in epoch ms; inject a fake clock for reproducible timestamps. */
  readonly clock?: () => number;
  /** Test-only: copy the ground-truth label into the record as `sim_label`. */
  readonly embedTruth?: boolean;
}

export const DEFAULT_SIMULATOR_OPTIONS = {
  seed: 1,
  errorRatio: 0.05,
  invalidRatio: 0.01,
  storm: { periodMs: 60_000, durationMs: 10_000, multiplier: 50 },
} as const satisfies SimulatorOptions;

export interface ValidEvent {
  readonly kind: 'valid';
  /** Ground truth: the error scenario id, or `traffic:<template>` for normal lines. */
  readonly label: string;
  readonly isError: boolean;
  readonly record: LogRecord;
  /** The event exactly as the application printed it, lines joined by `\n`. */
  readonly raw: string;
  /** The Kinesis payload: the record as JSON, UTF-8. */
  readonly data: Uint8Array;
}

export interface InvalidEvent {
  readonly kind: 'invalid';
  readonly label: `invalid:${InvalidKind}`;
  readonly invalidKind: InvalidKind;
  readonly data: Uint8Array;
}

export type SimulatedEvent = ValidEvent | InvalidEvent;

interface Pod {
  readonly service: ServiceDefinition;
  readonly kubernetes: KubernetesMetadata;
}

const encoder = new TextEncoder();
const trafficWeightTotal = TRAFFIC_TEMPLATES.reduce((sum, t) => sum + t.weight, 0);

/** Python's logging prints WARNING/CRITICAL where Logback prints WARN/FATAL. */
function levelAsPrinted(level: LogLevel, service: ServiceDefinition): LogLevel {
  if (service.language !== 'python') return level;
  if (level === 'WARN') return 'WARNING';
  if (level === 'FATAL') return 'CRITICAL';
  return level;
}

export class LogSimulator {
  private readonly faker: Faker;
  private readonly clock: () => number;
  private readonly pods: ReadonlyMap<string, readonly Pod[]>;
  /** Time of the first event: storm periods count from it. */
  private startMs: number | undefined;
  private stormingScenario: string | undefined;

  constructor(private readonly options: SimulatorOptions) {
    for (const [name, value] of [['errorRatio', options.errorRatio], ['invalidRatio', options.invalidRatio]] as const) {
      if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be within 0..1, got ${value}`);
    }
    if (options.storm && !(options.storm.durationMs > 0 && options.storm.durationMs <= options.storm.periodMs)) {
      throw new RangeError('storm durationMs must be > 0 and <= periodMs');
    }
    if (options.storm?.scenarioId !== undefined && !scenarioById(options.storm.scenarioId)) {
      throw new RangeError(`unknown storm scenario "${options.storm.scenarioId}"; known: ${ERROR_SCENARIOS.map((s) => s.id).join(', ')}`);
    }
    this.faker = new Faker({ locale: [en, base], seed: options.seed });
    this.clock = options.clock ?? Date.now;
    this.pods = new Map(SERVICES.map((service) => [service.name, this.makePods(service)]));
  }

  next(): SimulatedEvent {
    const f = this.faker;
    const now = this.clock();
    this.startMs ??= now;
    const storming = this.stormAt(now, this.startMs);
    this.stormingScenario = storming?.id;
    if (f.number.float() < this.options.invalidRatio) {
      const invalidKind = f.helpers.arrayElement(INVALID_KINDS);
      const valid = this.trafficEvent(now);
      return { kind: 'invalid', label: `invalid:${invalidKind}`, invalidKind, data: corruptRecord(invalidKind, valid.record, f) };
    }
    const scenario = this.pickScenario(storming);
    return scenario ? this.errorEvent(scenario, now) : this.trafficEvent(now);
  }

  /** The id of the scenario that was storming when the last event was made. */
  get storm(): string | undefined {
    return this.stormingScenario;
  }

  private stormAt(nowMs: number, startMs: number): ErrorScenario | undefined {
    const storm = this.options.storm;
    if (!storm) return undefined;
    const elapsed = nowMs - startMs;
    const index = Math.floor(elapsed / storm.periodMs);
    if (elapsed - index * storm.periodMs < storm.periodMs - storm.durationMs) return undefined;
    if (storm.scenarioId !== undefined) return scenarioById(storm.scenarioId);
    return ERROR_SCENARIOS[index % ERROR_SCENARIOS.length];
  }

  private pickScenario(storming: ErrorScenario | undefined): ErrorScenario | undefined {
    const f = this.faker;
    if (storming && this.options.storm) {
      const stormShare = Math.min(0.95, (this.options.errorRatio / ERROR_SCENARIOS.length) * this.options.storm.multiplier);
      if (f.number.float() < stormShare) return storming;
    }
    return f.number.float() < this.options.errorRatio ? f.helpers.arrayElement(ERROR_SCENARIOS) : undefined;
  }

  private makePods(service: ServiceDefinition): Pod[] {
    const f = this.faker;
    const replicaSet = f.string.alphanumeric({ length: 10, casing: 'lower' });
    return Array.from({ length: service.replicas }, () => {
      const podName = `${service.name}-${replicaSet}-${f.string.alphanumeric({ length: 5, casing: 'lower' })}`;
      return {
        service,
        kubernetes: {
          namespace_name: service.namespace,
          pod_name: podName,
          container_name: service.name,
          pod_id: f.string.uuid(),
          host: `ip-10-0-${f.number.int({ min: 0, max: 255 })}-${f.number.int({ min: 1, max: 254 })}.ec2.internal`,
          container_image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${service.name}:${service.version}`,
          labels: {
            app: service.name,
            'app.kubernetes.io/name': service.name,
            'app.kubernetes.io/version': service.version,
            'pod-template-hash': replicaSet,
          },
        },
      };
    });
  }

  private podOf(service: ServiceDefinition): Pod {
    const pods = this.pods.get(service.name);
    if (!pods) throw new Error(`no pods for ${service.name}`);
    return this.faker.helpers.arrayElement(pods);
  }

  private trafficEvent(now: number): ValidEvent {
    const f = this.faker;
    let pick = f.number.float({ min: 0, max: trafficWeightTotal });
    const template = TRAFFIC_TEMPLATES.find((t) => (pick -= t.weight) < 0) ?? TRAFFIC_TEMPLATES[0]!;
    const service = f.helpers.arrayElement(SERVICES);
    return this.build({
      label: `traffic:${template.id}`,
      isError: false,
      service,
      level: template.level,
      logger: f.helpers.arrayElement(service.loggers),
      thread: f.helpers.arrayElement(service.threads),
      message: template.message(f, service),
      trace: [],
      now,
    });
  }

  private errorEvent(scenario: ErrorScenario, now: number): ValidEvent {
    const occurrence = scenario.generate({ faker: this.faker, service: scenario.service, nowMs: now });
    return this.build({ label: scenario.id, isError: true, service: scenario.service, level: scenario.level, ...occurrence, now });
  }

  private build(e: {
    label: string; isError: boolean; service: ServiceDefinition; level: LogLevel; logger: string; thread: string;
    message: string; trace: readonly string[]; now: number;
  }): ValidEvent {
    const f = this.faker;
    const pod = this.podOf(e.service);
    const level = levelAsPrinted(e.level, e.service);
    const timestamp = formatTimestamp(e.now);
    const traceId = f.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' });
    const spanId = f.string.hexadecimal({ length: 16, casing: 'lower', prefix: '' });
    const requestId = f.string.uuid();
    const header = formatHeader({
      timestamp, level, service: e.service.name, thread: e.thread, logger: e.logger, traceId, spanId, requestId, message: e.message,
    });
    const raw = e.trace.length > 0 ? `${header}\n${e.trace.join('\n')}` : header;
    const record: LogRecord & { sim_label?: string } = {
      timestamp,
      level,
      service: e.service.name,
      message: e.message,
      log_content: raw,
      logger: e.logger,
      thread: e.thread,
      trace_id: traceId,
      span_id: spanId,
      request_id: requestId,
      kubernetes: pod.kubernetes,
    };
    if (this.options.embedTruth) record.sim_label = e.label;
    return { kind: 'valid', label: e.label, isError: e.isError, record, raw, data: encoder.encode(JSON.stringify(record)) };
  }
}

/** A fake clock for reproducible runs: starts at `startMs`, advances `stepMs` per call. */
export function steppingClock(startMs: number, stepMs: number): () => number {
  let now = startMs - stepMs;
  return () => (now += stepMs);
}
