/**
 * kinesis-mock (npm `kinesis-local`) as a child process on loopback.
 *
 * A child, not in-process: the emulator replaces process.exit and installs
 * its own SIGINT/SIGTERM handlers. kinesis-preload.cts forces loopback and
 * ties the child's life to ours (see there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListStreamsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../aws.js';
import { CaliError } from '../errors.js';
import { assertLoopbackPortFree, freeLoopbackPort, loopbackUrl, portInUseError } from './net.js';

export const KINESIS_LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
export type KinesisLogLevel = (typeof KINESIS_LOG_LEVELS)[number];

export interface KinesisEmulatorOptions {
  region: string;
  /** Plain-HTTP port; a free one when unset. */
  port?: number;
  /** kinesis-mock's LOG_LEVEL; WARN by default (bad requests and errors). */
  logLevel?: KinesisLogLevel;
  /** Receives each line the emulator prints; dropped when unset. */
  onOutput?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface KinesisEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves if the child exits without stop() having been called; otherwise never. */
  readonly crashed: Promise<CaliError>;
  /** SIGTERM, SIGKILL after a grace period; resolves once the child has exited. Idempotent. */
  stop(): Promise<void>;
}

const WHAT = 'Kinesis emulator';
const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;
const READY_POLL_MS = 50;
/** Per account; tests create a fresh stream each, so the default of 50 runs out fast. */
const SHARD_LIMIT = 10_000;
const STDERR_TAIL_LINES = 20;
/** kinesis-mock ignores credentials; any static pair avoids the SDK's credential chain. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Emulated control-plane operations complete at once instead of after 500 ms. */
const INSTANT_OPERATIONS = [
  'CREATE_STREAM_DURATION',
  'DELETE_STREAM_DURATION',
  'SPLIT_SHARD_DURATION',
  'MERGE_SHARDS_DURATION',
  'UPDATE_SHARD_COUNT_DURATION',
  'REGISTER_STREAM_CONSUMER_DURATION',
  'DEREGISTER_STREAM_CONSUMER_DURATION',
  'START_STREAM_ENCRYPTION_DURATION',
  'STOP_STREAM_ENCRYPTION_DURATION',
  'UPDATE_STREAM_MODE_DURATION',
] as const;

function resolveEmulatorMain(): string {
  try {
    return createRequire(import.meta.url).resolve('kinesis-local');
  } catch (error) {
    throw new CaliError(
      'CALI_ERR_EMULATOR_MISSING',
      'the Kinesis emulator (npm package kinesis-local) is not installed; run `npm ci`',
      { cause: error },
    );
  }
}

function resolvePreload(): string {
  const here = fileURLToPath(import.meta.url);
  const besideUs = join(dirname(here), 'kinesis-preload.cjs');
  if (existsSync(besideUs)) return besideUs;
  // Run from source (vitest, tsx) there is no .cjs beside us, and Node 20
  // cannot -r a .cts file: use the compiled one.
  if (here.endsWith('.ts')) {
    const compiled = fileURLToPath(new URL('../../dist/src/local/kinesis-preload.cjs', import.meta.url));
    if (existsSync(compiled)) return compiled;
  }
  throw new CaliError(
    'CALI_ERR_EMULATOR_MISSING',
    `kinesis-preload.cjs not found next to ${here}; build the project first (npx tspc -p tsconfig.build.json)`,
  );
}

function emulatorEnv(options: KinesisEmulatorOptions, port: number, tlsPort: number, certPath: string): NodeJS.ProcessEnv {
  // A clean environment: the parent's AWS_* or NODE_OPTIONS must not change the emulator.
  const env: NodeJS.ProcessEnv = {
    KINESIS_MOCK_PLAIN_PORT: String(port),
    KINESIS_MOCK_TLS_PORT: String(tlsPort),
    KINESIS_MOCK_CERT_PATH: certPath,
    AWS_REGION: options.region,
    SHARD_LIMIT: String(SHARD_LIMIT),
    LOG_LEVEL: options.logLevel ?? 'WARN',
  };
  for (const name of INSTANT_OPERATIONS) env[name] = '0ms';
  return env;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ?? `code ${exit.code}`;
}

/**
 * 'close' rather than 'exit': it comes after the child's stdout/stderr have
 * ended, so the lines quoted in an error are all there.
 */
function watchExit(child: ChildProcess): { exited: Promise<ExitInfo>; current: () => ExitInfo | undefined } {
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('close', (code, signal) => {
      info = { code, signal };
      resolve(info);
    });
    // A failed spawn emits 'error' and no 'close'.
    child.once('error', () => {
      info ??= { code: null, signal: null };
      resolve(info);
    });
  });
  return { exited, current: () => info };
}

/** The emulator prints a JVM-style stack trace under each warning and error: noise to an operator. */
export function isStackTraceLine(line: string): boolean {
  return /^\s+at\s|^\s*<no stack trace available>\s*$|^\s*$/.test(line);
}

/** The last line that is not a stack frame names the cause. */
function lastMeaningfulLine(lines: readonly string[]): string | undefined {
  return lines.findLast((line) => !isStackTraceLine(line));
}

export async function startKinesisEmulator(options: KinesisEmulatorOptions): Promise<KinesisEmulator> {
  const main = resolveEmulatorMain();
  const preload = resolvePreload();
  if (options.port !== undefined) await assertLoopbackPortFree(options.port, WHAT);
  const port = options.port ?? (await freeLoopbackPort());
  const tlsPort = await freeLoopbackPort();
  const endpoint = loopbackUrl(port);

  const child = spawn(process.execPath, ['-r', preload, main], {
    env: emulatorEnv(options, port, tlsPort, join(dirname(main), 'server.json')),
    // stdin is the parent-death signal for the preload: keep it open, never write to it.
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches only us, and we
    // stop the child in order instead of racing its own SIGINT exit.
    detached: true,
  });
  const { exited, current } = watchExit(child);
  // Nothing is ever written, so a broken pipe only means the child is gone, which 'close' reports.
  child.stdin?.on('error', () => {});

  const stderrTail: string[] = [];
  const forward = options.onOutput;
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => forward?.(line));
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      forward?.(line);
    });
  }
  const withDetail = (message: string): string => {
    const detail = lastMeaningfulLine(stderrTail);
    return detail === undefined ? message : `${message}: ${detail}`;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (current() === undefined) {
        child.kill('SIGTERM');
        const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(escalate);
      }
      child.stdin?.destroy();
    })();
    return stopping;
  };

  const crashed = new Promise<CaliError>((resolve) => {
    child.once('close', (code, signal) => {
      if (stopping === undefined) {
        resolve(new CaliError('CALI_ERR_EMULATOR_EXIT', withDetail(`${WHAT} exited unexpectedly (${describeExit({ code, signal })})`)));
      }
    });
  });

  const startError = (reason: string): CaliError => {
    // Taken between our check and the child's bind.
    if (options.port !== undefined && stderrTail.some((line) => line.includes('EADDRINUSE'))) {
      return portInUseError(options.port, WHAT);
    }
    return new CaliError('CALI_ERR_EMULATOR_START', withDetail(`${WHAT} ${reason}`));
  };

  try {
    await waitUntilReady(endpoint, options, current, startError);
    if (child.pid === undefined) throw startError('has no process id');
    return { endpoint, port, pid: child.pid, crashed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilReady(
  endpoint: string,
  options: KinesisEmulatorOptions,
  exitInfo: () => ExitInfo | undefined,
  startError: (reason: string) => CaliError,
): Promise<void> {
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const client = createKinesisClient({
    region: options.region,
    endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
  });
  try {
    for (;;) {
      try {
        await client.send(new ListStreamsCommand({ Limit: 1 }));
        return;
      } catch {
        // Not listening yet; the exit and deadline checks below end the wait.
      }
      const exit = exitInfo();
      if (exit) throw startError(`exited during start-up (${describeExit(exit)})`);
      if (Date.now() > deadline) throw startError(`did not answer within ${timeoutMs} ms`);
      await sleep(READY_POLL_MS);
    }
  } finally {
    client.destroy();
  }
}

/** CreateStream, then wait until it is ACTIVE. */
export async function createStream(
  client: KinesisClient,
  streamName: string,
  shardCount: number,
  timeoutMs = 60_000,
): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CaliError('CALI_ERR_STREAM', `cannot create stream "${streamName}" with ${shardCount} shards: ${message}`, {
      cause: error,
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { StreamDescriptionSummary: summary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (summary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new CaliError(
        'CALI_ERR_STREAM',
        `stream "${streamName}" is still ${summary?.StreamStatus ?? 'unknown'} after ${timeoutMs} ms`,
      );
    }
    await sleep(READY_POLL_MS);
  }
}
