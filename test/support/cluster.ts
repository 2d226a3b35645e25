/**
 * Helpers for multi-process lease tests: `cali run` workers as real child
 * processes (so kill -9 is real), their JSON log lines collected with the
 * time each event was logged, and a plain reader of the whole stream for
 * reconciliation.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cliEnv, startCli } from './cli.js';

export interface LogLine {
  readonly msg: string;
  readonly time: number;
  readonly workerId: string;
  readonly leaseKey?: string;
  readonly [key: string]: unknown;
}

export class WorkerProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly workerId: string, env: Record<string, string>) {
    this.child = startCli(['run'], cliEnv({ ...env, CALI_WORKER_ID: workerId }));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.stderr += `${line}\n`;
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  events(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export { readStreamPositions as readWholeStream } from '../../src/local/reconcile.js';

export interface Reconciliation {
  readonly records: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly duplicatesByShard: Readonly<Record<string, number>>;
}

/** How often each record was processed, from the workers' `batch.processed` lines (first..last sequence of each batch). */
export function reconcile(stream: Map<string, string[]>, batches: readonly LogLine[]): Reconciliation {
  let records = 0;
  let lost = 0;
  let duplicates = 0;
  const duplicatesByShard: Record<string, number> = {};
  for (const [shardId, sequence] of stream) {
    const index = new Map(sequence.map((seq, i) => [seq, i]));
    const coverage = new Uint16Array(sequence.length);
    for (const batch of batches) {
      if (batch.leaseKey !== shardId) continue;
      const first = index.get(batch.firstSequenceNumber as string);
      const last = index.get(batch.lastSequenceNumber as string);
      if (first === undefined || last === undefined) throw new Error(`batch on ${shardId} names unknown sequence numbers`);
      for (let i = first; i <= last; i++) coverage[i]!++;
    }
    records += sequence.length;
    let shardDuplicates = 0;
    for (const n of coverage) {
      if (n === 0) lost++;
      else shardDuplicates += n - 1;
    }
    duplicates += shardDuplicates;
    if (shardDuplicates > 0) duplicatesByShard[shardId] = shardDuplicates;
  }
  return { records, lost, duplicates, duplicatesByShard };
}
