/**
 * The benchmark harness every suite uses: tinybench with warm-up, one case per
 * suite marked as the baseline and run in the same process and session, medians
 * (not means) with min/max/p99 and the relative margin of error, and each case's
 * ratio to the baseline. Machines here are shared and noisy: read ratios, not
 * absolute numbers, and never turn these into timed test assertions.
 */
import { cpus, totalmem, type, release, arch } from 'node:os';
import { Bench } from 'tinybench';

export interface BenchCase {
  readonly name: string;
  /** One operation; it processes `unitsPerOp` units (records, bytes...). */
  readonly fn: () => unknown;
  readonly unitsPerOp: number;
  readonly baseline?: boolean;
}

export interface BenchSuite {
  readonly name: string;
  readonly description: string;
  /** What one unit is, e.g. "record". */
  readonly unit: string;
  readonly cases: readonly BenchCase[];
  /** Lines printed under the table: ratios between cases other than to the baseline (targets). */
  readonly notes?: (result: SuiteResult) => readonly string[];
  /** Runs after the cases, also when one fails: close worker pools and the like. */
  readonly teardown?: () => Promise<void> | void;
}

export interface RunOptions {
  readonly quick: boolean;
}

export interface CaseResult {
  readonly name: string;
  readonly baseline: boolean;
  readonly samples: number;
  /** Per operation, in microseconds. */
  readonly medianUs: number;
  readonly p99Us: number;
  readonly minUs: number;
  readonly maxUs: number;
  /** Relative margin of error of the mean latency, percent. */
  readonly rmePercent: number;
  /** Units per second at the median latency. */
  readonly unitsPerSecond: number;
  /** Median units/s divided by the baseline's: > 1 is faster than the baseline. */
  readonly ratioToBaseline: number;
}

export interface SuiteResult {
  readonly suite: string;
  readonly description: string;
  readonly unit: string;
  readonly cases: readonly CaseResult[];
  readonly notes: readonly string[];
}

export interface MachineInfo {
  readonly node: string;
  readonly os: string;
  readonly arch: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly date: string;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    node: process.version,
    os: `${type()} ${release()}`,
    arch: arch(),
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

export async function runSuite(suite: BenchSuite, options: RunOptions): Promise<SuiteResult> {
  const baselines = suite.cases.filter((c) => c.baseline);
  if (baselines.length !== 1) throw new Error(`suite ${suite.name} must mark exactly one baseline case`);
  const bench = new Bench({
    name: suite.name,
    time: options.quick ? 200 : 2_000,
    warmup: true,
    warmupTime: options.quick ? 100 : 500,
    throws: true,
  });
  for (const c of suite.cases) bench.add(c.name, c.fn);
  try {
    await bench.run();
  } finally {
    await suite.teardown?.();
  }

  const raw = suite.cases.map((c, i) => {
    const result = bench.tasks[i]?.result;
    if (!result || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
      throw new Error(`${suite.name} / ${c.name}: no result (${result?.state ?? 'missing'})`);
    }
    const l = result.latency;
    const msToUs = 1000;
    return {
      name: c.name,
      baseline: c.baseline === true,
      samples: l.samplesCount,
      medianUs: l.p50 * msToUs,
      p99Us: l.p99 * msToUs,
      minUs: l.min * msToUs,
      maxUs: l.max * msToUs,
      rmePercent: l.rme,
      unitsPerSecond: c.unitsPerOp / (l.p50 / 1000),
    };
  });
  const baselineRate = raw.find((r) => r.baseline)!.unitsPerSecond;
  const result = {
    suite: suite.name,
    description: suite.description,
    unit: suite.unit,
    cases: raw.map((r) => ({ ...r, ratioToBaseline: r.unitsPerSecond / baselineRate })),
    notes: [],
  };
  return { ...result, notes: suite.notes?.(result) ?? [] };
}

const fmt = (n: number, digits = 2): string => (n >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits));

export function formatSuite(result: SuiteResult): string {
  const header = ['case', 'median µs/op', 'p99 µs', 'min µs', 'max µs', '±%', 'samples', `${result.unit}s/s (median)`, 'vs baseline'];
  const rows = result.cases.map((c) => [
    c.baseline ? `${c.name} (baseline)` : c.name,
    fmt(c.medianUs), fmt(c.p99Us), fmt(c.minUs), fmt(c.maxUs), c.rmePercent.toFixed(1), String(c.samples),
    fmt(c.unitsPerSecond, 0), `${c.ratioToBaseline.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  return [
    `### ${result.suite}: ${result.description}`,
    '',
    line(header),
    `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...rows.map(line),
    ...(result.notes.length > 0 ? ['', ...result.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}
