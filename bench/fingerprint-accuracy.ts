/**
 * `node dist/bench/fingerprint-accuracy.js [--verbose]` (after `npm run build`):
 * Grouping Accuracy of the default fingerprint configuration on simulator
 * events (ground truth: scenario and traffic-template labels) and on the
 * hand-written corpus-style lines in test/fixtures/fingerprint (dev: the
 * styles the rules were tuned on; heldout: styles kept out of tuning).
 */
import { resolve } from 'node:path';
import { LogSimulator, steppingClock } from '../src/simulator/generator.js';
import { compileFingerprinter, type Fingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { groupingAccuracy, mergedGroups, readLabelledLines, splitLabels } from './grouping-accuracy.js';

export interface SimulatorAccuracy {
  readonly seed: number;
  readonly events: number;
  readonly all: number;
  readonly errors: number;
  readonly traffic: number;
  /** Predicted groups holding more than one label (must stay empty for scenarios). */
  readonly merged: string[][];
  readonly split: Map<string, number>;
}

export function simulatorAccuracy(fingerprint: Fingerprinter, seed: number, events: number, errorRatio = 0.3): SimulatorAccuracy {
  const simulator = new LogSimulator({ seed, errorRatio, invalidRatio: 0, clock: steppingClock(Date.UTC(2026, 10, 29), 173) });
  const truth: string[] = [];
  const predicted: string[] = [];
  const errors: [string[], string[]] = [[], []];
  const traffic: [string[], string[]] = [[], []];
  for (let i = 0; i < events; i++) {
    const event = simulator.next();
    if (event.kind !== 'valid') continue;
    const fp = fingerprint(event.record).fingerprint;
    // Services are part of the key by design (the same line in two services is two incidents), so a
    // traffic template is one true group per service; each error scenario belongs to one service.
    const label = event.isError ? event.label : `${event.label}@${event.record.service}`;
    truth.push(label);
    predicted.push(fp);
    const bucket = event.isError ? errors : traffic;
    bucket[0].push(label);
    bucket[1].push(fp);
  }
  return {
    seed,
    events: truth.length,
    all: groupingAccuracy(truth, predicted),
    errors: groupingAccuracy(...errors),
    traffic: groupingAccuracy(...traffic),
    merged: mergedGroups(truth, predicted),
    split: splitLabels(truth, predicted),
  };
}

export interface CorpusAccuracy {
  readonly style: string;
  readonly lines: number;
  readonly accuracy: number;
  readonly merged: string[][];
  readonly split: Map<string, number>;
}

/** GA per style file of `dir`, each line fingerprinted as a raw message line. */
export function corpusAccuracy(fingerprint: Fingerprinter, dir: string): CorpusAccuracy[] {
  return [...readLabelledLines(dir)].map(([style, lines]) => {
    const truth = lines.map((l) => l.label);
    const predicted = lines.map((l) => fingerprint({ message: l.line }).fingerprint);
    return { style, lines: lines.length, accuracy: groupingAccuracy(truth, predicted), merged: mergedGroups(truth, predicted), split: splitLabels(truth, predicted) };
  });
}

/** Line-weighted mean over styles. */
export function overall(results: readonly CorpusAccuracy[]): number {
  const lines = results.reduce((sum, r) => sum + r.lines, 0);
  return results.reduce((sum, r) => sum + r.accuracy * r.lines, 0) / lines;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const verbose = process.argv.includes('--verbose');
  const fingerprint = compileFingerprinter();
  console.log('simulator (30% errors, 20,000 events per seed): GA all | errors | traffic');
  for (const seed of [1, 2, 3]) {
    const r = simulatorAccuracy(fingerprint, seed, 20_000);
    console.log(`  seed ${seed}: ${r.all.toFixed(4)} | ${r.errors.toFixed(4)} | ${r.traffic.toFixed(4)}; merged groups: ${r.merged.length}`);
    if (verbose) console.log(`    merged ${JSON.stringify(r.merged)}\n    split ${JSON.stringify([...r.split])}`);
  }
  for (const set of ['dev', 'heldout']) {
    const results = corpusAccuracy(fingerprint, resolve('test/fixtures/fingerprint', set));
    console.log(`${set}: GA ${overall(results).toFixed(3)} over ${results.reduce((n, r) => n + r.lines, 0)} lines`);
    for (const r of results) {
      console.log(`  ${r.style.padEnd(14)} ${r.accuracy.toFixed(3)} (${r.lines} lines)`);
      if (verbose && r.merged.length > 0) console.log(`    merged ${JSON.stringify(r.merged)}`);
      if (verbose && r.split.size > 0) console.log(`    split ${JSON.stringify([...r.split])}`);
    }
  }
}
