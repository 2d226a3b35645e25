import { Faker, base, en } from '@faker-js/faker';
import { describe, expect, it } from 'vitest';
import { LogSimulator, steppingClock, type SimulatedEvent, type ValidEvent } from '../src/simulator/generator.js';
import { INVALID_KINDS } from '../src/simulator/invalid.js';
import { formatHeader } from '../src/simulator/log-format.js';
import { ERROR_SCENARIOS } from '../src/simulator/scenarios.js';
import { SERVICES } from '../src/simulator/services.js';
import { TRAFFIC_TEMPLATES } from '../src/simulator/traffic.js';
import { validateLogRecord } from '../src/workers/validate-record.js';

const START = Date.parse('2026-11-29T10:00:00.000Z');
const decoder = new TextDecoder();

function take(simulator: LogSimulator, n: number): SimulatedEvent[] {
  return Array.from({ length: n }, () => simulator.next());
}

function valid(events: SimulatedEvent[]): ValidEvent[] {
  return events.filter((e): e is ValidEvent => e.kind === 'valid');
}

const JAVA_EXCEPTION = /^(?:Caused by: )?[a-z][\w]*(?:\.[\w$]+)+(?:Exception|Error)(?:\$\w+)?(?:: .*)?$/;
const JAVA_FRAME = /^\tat (?:[\w.]+\/)?[\w$]+(?:\.[\w$]+)+(?:\/[\w/x]+)?\.[\w$<>]+\((?:[\w$]+\.java:\d+|Unknown Source|<generated>|Native Method)\)$/;
const JAVA_OTHER = /^(?:\t\.\.\. \d+ more|\tSuppressed: .+|Error has been observed at the following site\(s\):|\t\*__checkpoint .+|Original Stack Trace:)$/;
const PY_FILE = /^ {2}File "\/[^"]+\.py", line \d+, in [\w<>]+$/;
const PY_EXCEPTION = /^[A-Za-z_][\w.]*(?:Error|Exception|Detected)(?:: .*)?$/;
const PY_CHAIN = /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;

describe('log simulator', () => {
  it('is deterministic per seed and clock', () => {
    const run = (seed: number): string[] =>
      take(new LogSimulator({ seed, errorRatio: 0.2, invalidRatio: 0.05, clock: steppingClock(START, 10) }), 1500)
        .map((e) => `${e.label}|${Buffer.from(e.data).toString('base64')}`);
    const a = run(42);
    const again = run(42);
    expect(again.findIndex((line, i) => line !== a[i])).toBe(-1);
    const other = run(43);
    expect(other.filter((line, i) => line === a[i]).length).toBe(0);
  });

  it('produces records of the schema, with the raw text as log_content', () => {
    const events = valid(take(new LogSimulator({ seed: 1, errorRatio: 0.3, invalidRatio: 0, clock: steppingClock(START, 3) }), 3000));
    expect(events.length).toBe(3000);
    for (const event of events) {
      const parsed: unknown = JSON.parse(decoder.decode(event.data));
      const result = validateLogRecord(parsed);
      expect(result.success, JSON.stringify(result.success ? [] : result.errors)).toBe(true);
      expect(event.record.log_content).toBe(event.raw);
      const r = event.record;
      const header = formatHeader({
        timestamp: r.timestamp, level: r.level, service: r.service, thread: r.thread!, logger: r.logger!,
        traceId: r.trace_id!, spanId: r.span_id!, requestId: r.request_id!, message: r.message,
      });
      expect(event.raw.split('\n')[0]).toBe(header);
      expect(Object.keys(parsed as object)).not.toContain('sim_label');
    }
    expect(new Set(events.map((e) => e.record.service))).toEqual(new Set(SERVICES.map((s) => s.name)));
  });

  it('keeps Python and Java level spellings apart', () => {
    const events = valid(take(new LogSimulator({ seed: 5, errorRatio: 0, invalidRatio: 0, clock: steppingClock(START, 1) }), 4000));
    const levelsBy = (language: string): Set<string> => new Set(events
      .filter((e) => SERVICES.find((s) => s.name === e.record.service)?.language === language)
      .map((e) => e.record.level));
    expect(levelsBy('python')).toContain('WARNING');
    expect(levelsBy('python')).not.toContain('WARN');
    expect(levelsBy('java')).toContain('WARN');
    expect(levelsBy('java')).not.toContain('WARNING');
  });

  it('labels each traffic message shape on its own: one endpoint, retry target or cache per label', () => {
    expect(new Set(TRAFFIC_TEMPLATES.map((t) => t.id)).size).toBe(TRAFFIC_TEMPLATES.length);
    const events = valid(take(new LogSimulator({ seed: 4, errorRatio: 0, invalidRatio: 0, clock: steppingClock(START, 1) }), 5000));
    const labels = new Set(events.map((e) => e.label));
    expect(labels).toEqual(new Set(TRAFFIC_TEMPLATES.map((t) => `traffic:${t.id}`)));
    for (const event of events) {
      const access = /^traffic:http-access:(GET|POST|PUT) (\S+)$/.exec(event.label);
      if (access) {
        const route = new RegExp(`^${access[2]!.replace(/[.?]/g, '\\$&').replace(/\{\w+\}/g, '[^/ ]+')}$`);
        const [method, path] = event.record.message.split(' ');
        expect(method, event.record.message).toBe(access[1]);
        expect(path, event.record.message).toMatch(route);
      }
      const retry = /^traffic:retrying-call:(.+)$/.exec(event.label);
      if (retry) expect(event.record.message).toContain(`Retrying call to ${retry[1]!} (`);
      const cache = /^traffic:cache-stats:(.+)$/.exec(event.label);
      if (cache) expect(event.record.message).toMatch(new RegExp(`^Cache ${cache[1]!} hit ratio `));
    }
  });

  it('puts the ground-truth label into the record only when asked', () => {
    const [event] = valid(take(new LogSimulator({ seed: 3, errorRatio: 1, invalidRatio: 0, embedTruth: true }), 1));
    expect((JSON.parse(decoder.decode(event!.data)) as { sim_label?: string }).sim_label).toBe(event!.label);
  });

  it('respects the error ratio and covers every scenario', () => {
    const events = valid(take(new LogSimulator({ seed: 9, errorRatio: 0.1, invalidRatio: 0, clock: steppingClock(START, 1) }), 20_000));
    const errors = events.filter((e) => e.isError);
    expect(errors.length / events.length).toBeGreaterThan(0.085);
    expect(errors.length / events.length).toBeLessThan(0.115);
    expect(new Set(errors.map((e) => e.label))).toEqual(new Set(ERROR_SCENARIOS.map((s) => s.id)));
  });

  it('storms one scenario at many times its usual rate during a storm window', () => {
    const periodMs = 10_000;
    const durationMs = 2_000;
    const simulator = new LogSimulator({
      seed: 11, errorRatio: 0.05, invalidRatio: 0, clock: steppingClock(START, 1),
      storm: { periodMs, durationMs, multiplier: 50, scenarioId: 'payment-gateway-timeout' },
    });
    let inStorm = 0; let inStormHits = 0; let calm = 0; let calmHits = 0;
    for (let t = 0; t < 3 * periodMs; t++) {
      const event = simulator.next();
      const storming = t % periodMs >= periodMs - durationMs;
      const hit = event.label === 'payment-gateway-timeout' ? 1 : 0;
      if (storming) { inStorm++; inStormHits += hit; } else { calm++; calmHits += hit; }
      expect(simulator.storm).toBe(storming ? 'payment-gateway-timeout' : undefined);
    }
    expect(inStormHits / inStorm).toBeGreaterThan(20 * (calmHits / calm));
  });

  it('emits every invalid kind, and none of them passes validation', () => {
    const events = take(new LogSimulator({ seed: 2, errorRatio: 0.1, invalidRatio: 0.5, clock: steppingClock(START, 1) }), 2000);
    const invalid = events.filter((e) => e.kind === 'invalid');
    expect(new Set(invalid.map((e) => e.invalidKind))).toEqual(new Set(INVALID_KINDS));
    for (const event of invalid) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(decoder.decode(event.data));
      } catch {
        expect(['malformed-json', 'binary-garbage']).toContain(event.invalidKind);
        continue;
      }
      expect(validateLogRecord(parsed).success, event.invalidKind).toBe(false);
      expect(event.data.byteLength).toBeLessThan(1024 * 1024);
    }
  });
});

describe('error scenarios', () => {
  const faker = new Faker({ locale: [en, base], seed: 77 });
  const occurrences = (id: string, n: number) => {
    const scenario = ERROR_SCENARIOS.find((s) => s.id === id)!;
    return Array.from({ length: n }, (_, i) => scenario.generate({ faker, service: scenario.service, nowMs: START + i * 1000 }));
  };

  it('has at least 8 scenarios over Java and Python services with distinct ids', () => {
    expect(ERROR_SCENARIOS.length).toBeGreaterThanOrEqual(8);
    expect(new Set(ERROR_SCENARIOS.map((s) => s.id)).size).toBe(ERROR_SCENARIOS.length);
    expect(new Set(ERROR_SCENARIOS.map((s) => s.service.language))).toEqual(new Set(['java', 'python']));
  });

  for (const scenario of ERROR_SCENARIOS) {
    it(`${scenario.id}: a real-looking ${scenario.service.language} stack trace of 15-30 lines`, () => {
      for (const occurrence of occurrences(scenario.id, 30)) {
        const trace = occurrence.trace;
        expect(trace.length).toBeGreaterThanOrEqual(15);
        expect(trace.length).toBeLessThanOrEqual(30);
        if (scenario.service.language === 'java') {
          expect(trace[0]).toMatch(JAVA_EXCEPTION);
          for (const line of trace.slice(1)) {
            expect([JAVA_FRAME, JAVA_EXCEPTION, JAVA_OTHER].some((re) => re.test(line)), line).toBe(true);
          }
          expect(trace.filter((l) => JAVA_FRAME.test(l)).length).toBeGreaterThanOrEqual(10);
        } else {
          expect(trace[0]).toBe('Traceback (most recent call last):');
          expect(trace.some((l) => PY_CHAIN.test(l))).toBe(true);
          trace.forEach((line, i) => {
            if (PY_FILE.test(line)) expect(trace[i + 1]).toMatch(/^ {4}\S/);
          });
          expect(trace.at(-1)).toSatisfy((last: string) => PY_EXCEPTION.test(last) || last.startsWith('(Background'));
        }
      }
    });

    it(`${scenario.id}: occurrences differ only in variable values`, () => {
      const normalise = (line: string): string => line
        .replace(/GeneratedMethodAccessor\d+/g, 'GeneratedMethodAccessor')
        .replace(/\$\$Lambda\/[\w/]+/g, '$$$$Lambda');
      const frameLines = (trace: readonly string[]): string =>
        trace.filter((l) => l.startsWith('\tat ') || l.startsWith('  File ')).map(normalise).join('\n');
      const all = occurrences(scenario.id, 20);
      const frames = new Set(all.map((o) => frameLines(o.trace)));
      expect(frames.size).toBe(1);
      expect(new Set(all.map((o) => o.message)).size).toBeGreaterThan(15);
    });
  }

  it('chains causes the way the runtimes print them', () => {
    const traces = ERROR_SCENARIOS.map((s) => occurrences(s.id, 1)[0]!.trace.join('\n'));
    expect(traces.filter((t) => t.includes('\nCaused by: ')).length).toBeGreaterThanOrEqual(2);
    expect(traces.some((t) => t.includes('During handling of the above exception'))).toBe(true);
    expect(traces.some((t) => t.includes('The above exception was the direct cause'))).toBe(true);
  });
});

