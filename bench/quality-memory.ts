/**
 * `node dist/bench/quality-memory.js [--mib 1024] [--runs 3] [--keep DIR]`
 * (after `npm run build`): peak memory and throughput of a real
 * `cali quality` process over a large archive window (target: a 1 GiB window
 * under 300 MB RSS). The window is generated streamed (one ~8 MiB gzip object
 * at a time, real archive lines: bench/quality-data.ts) into a local
 * directory, then the CLI runs over it with the default suite while its peak
 * resident set (VmHWM) is read from /proc. Prints one line per run and the
 * medians.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildObject, makeArchivePool, OBJECT_BYTES } from './quality-data.js';

export const WINDOW = Object.freeze({ fromMs: Date.parse('2026-11-20T11:00:00Z'), toMs: Date.parse('2026-11-20T12:00:00Z') });
/** dist/bench/ -> dist/src/cli/main.js; tests that import this file from source pass the built CLI. */
const BUILT_CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

export interface GeneratedWindow {
  readonly objects: number;
  readonly uncompressedBytes: number;
  readonly storedBytes: number;
  readonly lines: number;
}

/** Writes about `mib` MiB of NDJSON as gzip archive objects spread over WINDOW; one object in memory at a time. */
export function generateArchiveWindow(archiveDir: string, mib: number): GeneratedWindow {
  const pool = makeArchivePool(4000, WINDOW.toMs);
  const count = Math.max(1, Math.ceil((mib * 1024 * 1024) / OBJECT_BYTES));
  const step = Math.floor((WINDOW.toMs - WINDOW.fromMs) / count);
  let uncompressedBytes = 0;
  let storedBytes = 0;
  let lines = 0;
  for (let i = 0; i < count; i++) {
    const object = buildObject(pool, i, WINDOW.fromMs + i * step);
    const path = join(archiveDir, ...object.key.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, object.body);
    uncompressedBytes += object.uncompressedBytes;
    storedBytes += object.body.byteLength;
    lines += object.lines;
  }
  return { objects: count, uncompressedBytes, storedBytes, lines };
}

export interface QualityRunMeasurement {
  readonly exitCode: number | null;
  readonly peakRssBytes: number;
  readonly seconds: number;
  readonly rows: number;
  readonly uncompressedBytes: number;
  readonly megabytesPerSecond: number;
}

function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    // The process just exited: the last reading stands.
    return 0;
  }
}

/** One `cali quality` process over the window; VmHWM polled every 50 ms (it only grows, so the last reading is the peak so far). */
export function measureQualityRun(archiveDir: string, dlqDir: string, cli = BUILT_CLI): Promise<QualityRunMeasurement> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--', cli, 'quality', '--from', new Date(WINDOW.fromMs).toISOString(), '--to', new Date(WINDOW.toMs).toISOString(), '--json', '--no-slack'], {
    env: { ...process.env, CALI_ARCHIVE_URI: archiveDir, CALI_DLQ_URI: dlqDir, CALI_PUSHGATEWAY_URL: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!))), 50);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on('exit', () => (peak = Math.max(peak, peakRss(child.pid!))));
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let result: { meta: { batch_markers: { archive_rows: number; archive_bytes_uncompressed: number }; duration_seconds: number } };
      try {
        result = JSON.parse(stdout) as typeof result;
      } catch {
        reject(new Error(`cali quality exited ${code} without a result: ${stderr.slice(0, 500)}`));
        return;
      }
      const markers = result.meta.batch_markers;
      resolvePromise({
        exitCode: code,
        peakRssBytes: peak,
        seconds,
        rows: markers.archive_rows,
        uncompressedBytes: markers.archive_bytes_uncompressed,
        megabytesPerSecond: markers.archive_bytes_uncompressed / 1e6 / result.meta.duration_seconds,
      });
    });
  });
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string): string => {
    const at = args.indexOf(name);
    return at === -1 ? fallback : (args[at + 1] ?? fallback);
  };
  const mib = Number(option('--mib', '1024'));
  const runs = Number(option('--runs', '3'));
  const keep = args.includes('--keep');
  const root = mkdtempSync(join(tmpdir(), 'cali-quality-memory-'));
  const archiveDir = join(root, 'archive');
  const dlqDir = join(root, 'dlq');
  try {
    const genStart = Date.now();
    const window = generateArchiveWindow(archiveDir, mib);
    console.log(`generated ${window.objects} objects: ${(window.uncompressedBytes / 2 ** 20).toFixed(0)} MiB NDJSON (${window.lines.toLocaleString('en-US')} records), ${(window.storedBytes / 2 ** 20).toFixed(0)} MiB gzip, in ${((Date.now() - genStart) / 1000).toFixed(1)} s`);
    const measurements: QualityRunMeasurement[] = [];
    for (let run = 1; run <= runs; run++) {
      const m = await measureQualityRun(archiveDir, dlqDir);
      measurements.push(m);
      console.log(`run ${run}: exit ${m.exitCode}, ${m.rows.toLocaleString('en-US')} rows, ${(m.uncompressedBytes / 1e6).toFixed(0)} MB in ${m.seconds.toFixed(1)} s wall, ${m.megabytesPerSecond.toFixed(1)} MB/s (engine), peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    const rss = median(measurements.map((m) => m.peakRssBytes)) / 2 ** 20;
    console.log(`median over ${runs} runs: peak RSS ${rss.toFixed(0)} MiB (target < 300 MB: ${rss * 1.048576 < 300 ? 'met' : 'NOT met'}), ${median(measurements.map((m) => m.megabytesPerSecond)).toFixed(1)} MB/s of uncompressed NDJSON`);
  } finally {
    if (keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
