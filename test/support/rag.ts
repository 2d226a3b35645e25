/**
 * Incident candidates from the simulator, built the way the workers build
 * them (fingerprint, template, root exception, pod), for RAG tests and the
 * retrieval-quality check.
 */
import { Faker, base, en } from '@faker-js/faker';
import { LogSimulator, type ValidEvent } from '../../src/simulator/generator.js';
import { compileFingerprinter, levelClass } from '../../src/workers/fingerprint/fingerprint.js';
import type { IncidentCandidate } from '../../src/workers/protocol.js';

const fingerprinter = compileFingerprinter();

export interface ScenarioCandidate {
  readonly scenario: string;
  readonly candidate: IncidentCandidate;
}

/** A candidate for one simulated error event; `traceLines` cuts its stack trace (a shallower trace). */
export function candidateOf(event: ValidEvent, traceLines?: number): IncidentCandidate {
  const record = event.record;
  let logContent = record.log_content;
  if (traceLines !== undefined && typeof logContent === 'string') logContent = logContent.split('\n').slice(0, 1 + traceLines).join('\n');
  const fp = fingerprinter({ ...record, log_content: logContent });
  const timeMs = Date.parse(record.timestamp);
  return {
    fingerprint: fp.fingerprint,
    kind: fp.kind,
    template: fp.template,
    service: record.service,
    levelClass: levelClass(record.level),
    count: 1,
    firstSeenMs: timeMs,
    lastSeenMs: timeMs,
    pods: [record.kubernetes?.pod_name ?? 'unknown'],
    sample: { message: record.message, exception: fp.exceptions.at(-1)?.type || undefined, sequenceNumber: '1', subSequenceNumber: 0 },
  };
}

/**
 * `perScenario` occurrences of every simulator scenario from one seed. With
 * `varyDepth`, each trace is cut at a random depth between 2 lines and all of it.
 */
export function scenarioCandidates(seed: number, perScenario: number, varyDepth = false): ScenarioCandidate[] {
  const simulator = new LogSimulator({ seed, errorRatio: 1, invalidRatio: 0, clock: () => Date.UTC(2026, 10, 3, 12) + seed * 3_600_000 });
  const depth = new Faker({ locale: [en, base], seed: seed + 7 });
  const counts = new Map<string, number>();
  const out: ScenarioCandidate[] = [];
  let guard = 0;
  while (out.length < perScenario * 9 && guard++ < perScenario * 200) {
    const event = simulator.next();
    if (event.kind !== 'valid' || !event.isError) continue;
    const seen = counts.get(event.label) ?? 0;
    if (seen >= perScenario) continue;
    counts.set(event.label, seen + 1);
    const lines = event.raw.split('\n').length - 1;
    out.push({ scenario: event.label, candidate: candidateOf(event, varyDepth ? depth.number.int({ min: 2, max: lines }) : undefined) });
  }
  return out;
}
