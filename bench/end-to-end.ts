/**
 * The end-to-end part of `npm run bench`: `cali local` (the embedded Kinesis,
 * DynamoDB and S3 emulators, the simulator, consumer processes) for a fixed
 * time, then its reconciled summary: records lost and duplicated (from the
 * archive and the DLQ against the stream), throughput, and latency from
 * PutRecords to both sinks acknowledged. Two runs: the default rate (the
 * latency target's settings) and a saturating rate (what the embedded stack
 * sustains; the emulators, not the consumer, set that ceiling: compare the
 * pipeline suite's records/s per thread).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './cli-path.js';
import type { RunOptions } from './harness.js';

export interface EndToEndRun {
  readonly name: string;
  readonly shards: number;
  readonly consumers: number;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly produced: number;
  readonly processed: number;
  readonly producedInvalid: number;
  readonly dlq: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly throughputPerSecond: number;
  readonly latencyMs: { readonly p50?: number | undefined; readonly p99?: number | undefined };
}

export interface EndToEndResult {
  readonly suite: 'e2e';
  readonly runs: readonly EndToEndRun[];
  readonly notes: readonly string[];
}

interface Plan {
  readonly name: string;
  readonly rate: number;
  readonly durationSeconds: number;
}

/** One `cali local` run in a scratch directory (it writes .cali/ there); its --summary JSON. */
async function runLocal(plan: Plan, shards: number, consumers: number): Promise<EndToEndRun> {
  const dir = await mkdtemp(join(tmpdir(), 'cali-bench-e2e-'));
  try {
    const summaryFile = join(dir, 'summary.json');
    const args = [cliPath(), 'local', '--shards', String(shards), '--consumers', String(consumers), '--rate', String(plan.rate),
      '--duration', String(plan.durationSeconds), '--metrics-port', '0', '--summary', summaryFile];
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr.push(chunk); });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`e2e ${plan.name}: cali local exited ${code}: ${stderr.join('').split('\n').slice(-5).join(' | ')}`);
    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as Omit<EndToEndRun, 'name' | 'rate' | 'durationSeconds'>;
    return {
      name: plan.name, shards, consumers, rate: plan.rate, durationSeconds: plan.durationSeconds,
      produced: summary.produced, processed: summary.processed, producedInvalid: summary.producedInvalid, dlq: summary.dlq,
      lost: summary.lost, duplicates: summary.duplicates, throughputPerSecond: summary.throughputPerSecond, latencyMs: summary.latencyMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runEndToEnd(options: RunOptions): Promise<EndToEndResult> {
  const plans: Plan[] = options.quick
    ? [{ name: 'default rate', rate: 200, durationSeconds: 5 }]
    : [{ name: 'default rate', rate: 200, durationSeconds: 30 }, { name: 'saturating rate', rate: 5_000, durationSeconds: 20 }];
  const runs: EndToEndRun[] = [];
  for (const plan of plans) runs.push(await runLocal(plan, 4, 2));
  const notes = runs.map((run) => {
    const p99 = run.latencyMs.p99;
    const verdict = run.rate === 200 && p99 !== undefined ? ` (target < 2000 ms at the default settings: ${p99 < 2_000 ? 'met' : 'NOT met'})` : '';
    return `${run.name}: ${run.lost} lost, ${run.duplicates} duplicates, DLQ ${run.dlq} of ${run.producedInvalid} invalid produced; latency p99 ${p99 ?? '-'} ms${verdict}`;
  });
  return { suite: 'e2e', runs, notes };
}

export function formatEndToEnd(result: EndToEndResult): string {
  const header = '| run | shards | consumers | rate/s | produced | processed | lost | duplicates | DLQ / invalid | records/s | p50 ms | p99 ms |';
  const rows = result.runs.map((r) => `| ${r.name} | ${r.shards} | ${r.consumers} | ${r.rate} | ${r.produced} | ${r.processed} | ${r.lost} | ${r.duplicates} | ${r.dlq} / ${r.producedInvalid} | ${Math.round(r.throughputPerSecond)} | ${r.latencyMs.p50 ?? '-'} | ${r.latencyMs.p99 ?? '-'} |`);
  return [
    '### e2e: `cali local` on the embedded stack, reconciled from the archive and the DLQ; latency from PutRecords to both sinks acknowledged',
    '',
    header,
    '|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ...result.notes.map((n) => `- ${n}`),
  ].join('\n');
}
