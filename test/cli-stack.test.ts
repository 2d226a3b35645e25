/**
 * `cali stack` as operators and scripts run it: the built CLI as a child
 * process. Covers the env file contract, clean SIGTERM shutdown, no orphaned
 * emulator after SIGKILL, and one-line errors.
 */
import { spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { LOCAL_STACK_ENV_NAMES } from '../src/local/stack.js';
import { cliEnv, runCli, startCli } from './support/cli.js';
import { kinesisChildren, processesWithEnv, waitUntilDead } from './support/proc.js';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningStack {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<Exit>;
  output: { stdout: string; stderr: string };
}

const running: RunningStack[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cali-cli-stack-'));
});

afterEach(async () => {
  // A failed assertion must not leave a stack behind for the next test.
  for (const stack of running.splice(0)) {
    if (stack.child.exitCode === null && stack.child.signalCode === null) stack.child.kill('SIGKILL');
    await stack.exited;
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function launch(args: string[]): RunningStack {
  const child = startCli(['stack', ...args]);
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const stack = { child, exited, output };
  running.push(stack);
  return stack;
}

async function waitForFile(file: string, stack: RunningStack, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (stack.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no env file from cali stack (exit ${stack.child.exitCode}): ${stack.output.stderr}`);
    }
    await sleep(50);
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what} took more than ${ms} ms`);
    }),
  ]);
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

async function startedStack(envFile: string, ...extra: string[]): Promise<{ stack: RunningStack; emulatorPid: number }> {
  const stack = launch(['--shards', '2', '--env-file', envFile, ...extra]);
  await waitForFile(envFile, stack);
  const pid = stack.child.pid;
  if (pid === undefined) throw new Error('cali stack has no pid');
  const emulators = kinesisChildren(pid);
  expect(emulators).toHaveLength(1);
  return { stack, emulatorPid: emulators[0] ?? -1 };
}

describe('cali stack', () => {
  it('writes a complete env file that SDK clients work with, and stops cleanly on SIGTERM', async () => {
    const envFile = join(dir, 'nested', 'term.env');
    const { stack, emulatorPid } = await startedStack(envFile);
    const text = readFileSync(envFile, 'utf8');
    const env = parseEnv(text);
    expect(Object.keys(env).sort()).toEqual([...LOCAL_STACK_ENV_NAMES].sort());
    expect(env.AWS_ENDPOINT_URL_KINESIS).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const kinesis = createKinesisClient({
      region: env.AWS_REGION ?? '',
      endpoint: env.AWS_ENDPOINT_URL_KINESIS ?? '',
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    });
    try {
      const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: env.CALI_STREAM_NAME }));
      expect(Shards).toHaveLength(2);
    } finally {
      kinesis.destroy();
    }

    // The environment alone (no endpoint or credentials in code) configures a plain SDK client.
    const script = `
      import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
      import { NodeHttpHandler } from '@smithy/node-http-handler';
      const client = new KinesisClient({ requestHandler: new NodeHttpHandler() });
      const { Shards } = await client.send(new ListShardsCommand({ StreamName: process.env.CALI_STREAM_NAME }));
      console.log(Shards.length);`;
    const plain = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: cliEnv(env),
      timeout: 15_000,
    });
    expect(plain.stderr).toBe('');
    expect(plain.stdout.trim()).toBe('2');

    stack.child.kill('SIGTERM');
    expect(await within(stack.exited, 5_000, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await waitUntilDead(emulatorPid, 1_000)).toBe(true);
    expect(stack.output.stdout).toBe(text);
    expect(stack.output.stderr).toMatch(/^cali: stack ready in [\d.]+ s: Kinesis http:\/\/127\.0\.0\.1:\d+ /m);
    expect(stack.output.stderr).not.toMatch(/\n\s+at /);
    // Its endpoints are dead: the file must not outlive the stack.
    expect(existsSync(envFile)).toBe(false);
  });

  it('leaves no emulator behind when it is killed with SIGKILL', async () => {
    // A SIGKILLed stack cannot remove its temporary S3 directory: keep it in ours.
    const { stack, emulatorPid } = await startedStack(join(dir, 'kill.env'), '--data-dir', join(dir, 'kill-data'));
    stack.child.kill('SIGKILL');
    await stack.exited;
    expect(await waitUntilDead(emulatorPid, 5_000)).toBe(true);
  });

  it('exits non-zero with one line when the Kinesis emulator dies under it', async () => {
    const envFile = join(dir, 'crash.env');
    const { stack, emulatorPid } = await startedStack(envFile);
    process.kill(emulatorPid, 'SIGKILL');
    const exit = await within(stack.exited, 5_000, 'exit after the emulator died');
    expect(exit.code).toBe(1);
    const lastLine = stack.output.stderr.trimEnd().split('\n').at(-1);
    expect(lastLine).toMatch(/^cali: Kinesis emulator exited unexpectedly \(SIGKILL\)/);
    expect(existsSync(envFile)).toBe(false);
  });

  describe('with a taken --kinesis-port', () => {
    let occupied: Server;
    let port = 0;

    beforeAll(async () => {
      occupied = createServer();
      await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
      const address = occupied.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      port = address.port;
    });

    afterAll(async () => {
      await new Promise((resolve) => occupied.close(resolve));
    });

    it('fails with one line naming the port, and starts nothing that outlives it', async () => {
      const stack = launch(['--kinesis-port', String(port), '--env-file', join(dir, 'port.env')]);
      const exit = await within(stack.exited, 15_000, 'exit with a taken port');
      expect(exit.code).not.toBe(0);
      expect(stack.output.stderr.trimEnd().split('\n')).toEqual([
        `cali: port ${port} for the Kinesis emulator is already in use on 127.0.0.1; choose another port or stop the process using it`,
      ]);
      expect(stack.output.stdout).toBe('');
      expect(processesWithEnv('KINESIS_MOCK_PLAIN_PORT', String(port))).toEqual([]);
      expect(existsSync(join(dir, 'port.env'))).toBe(false);
    });
  });

  it('rejects bad option values with a usage error before starting anything', () => {
    const cases = [
      ['--shards', '0'],
      ['--shards', 'four'],
      ['--stream', 'bad name'],
      ['--app', 'ab'],
      ['--kinesis-port', '70000'],
      ['--kinesis-log-level', 'LOUD'],
    ];
    for (const args of cases) {
      const result = runCli(['stack', ...args], cliEnv(), 10_000);
      expect(result.status, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toContain(`option '${args[0]}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
    }
  });
});
