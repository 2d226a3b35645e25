/**
 * Runs the built CLI (`npm test` builds first) as a child process, as its
 * shebang does: `node -- main.js ...` (see src/cli/main.ts for why the `--`).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve('dist/src/cli/main.js');

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

/**
 * Child env without the SDK's deprecation notice so stderr assertions see only CALI's output.
 * Consumers listen for metrics on a free loopback port: test files run in parallel, and the
 * default 9464 would be taken by whichever `cali run` started first.
 */
/** The consumers' embedded knowledge base: per test process, not the repository's .cali/. */
const TEST_RAG_DIR = join(tmpdir(), `cali-test-kb-${process.pid}`);

export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CALI_METRICS_PORT: '0', CALI_METRICS_HOST: '127.0.0.1', CALI_RAG_DIR: TEST_RAG_DIR, ...extra };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = cliEnv(), timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--', CLI, ...args], { encoding: 'utf8', env, timeout: timeoutMs });
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--', CLI, ...args], { env, stdio: 'pipe' });
}
