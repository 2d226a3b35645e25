/** The bench harness runs and reports what it promises; speed itself is never asserted here. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('npm run bench --quick writes medians, spread and baseline ratios', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cali-bench-'));
  try {
    const file = join(dir, 'bench.json');
    const result = spawnSync(process.execPath, ['dist/bench/run.js', '--quick', '--json', file], { encoding: 'utf8', timeout: 210_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| case +\| median µs\/op/);
    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      machine: { node: string; cores: number };
      endToEnd: { runs: { produced: number; processed: number; producedInvalid: number; dlq: number; lost: number; duplicates: number; latencyMs: { p99?: number } }[] };
      results: { suite: string; cases: { name: string; baseline: boolean; medianUs: number; minUs: number; maxUs: number; ratioToBaseline: number }[] }[];
    };
    expect(report.machine.node).toBe(process.version);
    expect(report.results.map((r) => r.suite)).toContain('simulator');
    // The end-to-end run on the embedded stack: reconciled, nothing lost, every invalid record in the DLQ.
    expect(result.stdout).toContain('### e2e:');
    const [run] = report.endToEnd.runs;
    expect(run).toMatchObject({ lost: 0, duplicates: 0 });
    expect(run!.produced).toBeGreaterThan(0);
    expect(run!.processed).toBe(run!.produced);
    expect(run!.dlq).toBe(run!.producedInvalid);
    expect(run!.latencyMs.p99).toBeGreaterThan(0);
    for (const suite of report.results) {
      expect(suite.cases.filter((c) => c.baseline)).toHaveLength(1);
      expect(suite.cases.find((c) => c.baseline)!.ratioToBaseline).toBe(1);
      for (const c of suite.cases) {
        expect(c.medianUs).toBeGreaterThan(0);
        expect(c.minUs).toBeLessThanOrEqual(c.medianUs);
        expect(c.maxUs).toBeGreaterThanOrEqual(c.medianUs);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // As long as the child may take: every suite's quick run, on a shared machine.
}, 240_000);
