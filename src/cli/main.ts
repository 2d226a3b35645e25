#!/usr/bin/env -S node --
// The `--` matters: Node 20-24 scan the WHOLE command line for their own
// `--env-file` flag, so `node main.js stack --env-file F` would make Node itself
// read F (and exit 9 when F does not exist yet). After `--` Node reads no flags.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isCaliError } from '../errors.js';
import { registerDlq } from './commands/dlq.js';
import { registerFingerprint } from './commands/fingerprint.js';
import { registerKb } from './commands/kb.js';
import { registerLocal } from './commands/local.js';
import { registerQuality } from './commands/quality.js';
import { registerRun } from './commands/run.js';
import { registerSimulate } from './commands/simulate.js';
import { registerStack } from './commands/stack.js';

/** dist/src/cli/main.js -> the package root. */
const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('cali')
    .description('CALI: log-intelligence stream processor for AWS Kinesis')
    .version(packageJson.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerStack(program);
  registerSimulate(program);
  registerLocal(program);
  registerFingerprint(program);
  registerRun(program);
  registerDlq(program);
  registerKb(program);
  registerQuality(program);
  return program;
}

/** One line on stderr and a non-zero exit: operators get the fix, not a stack dump. */
function fail(error: unknown): never {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode);
  }
  if (isCaliError(error)) {
    process.stderr.write(`cali: ${error.message}\n`);
    process.exit(error.code === 'CALI_ERR_USAGE' ? 2 : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cali: unexpected error: ${message}\n`);
  if (process.env.CALI_DEBUG) console.error(error);
  process.exit(1);
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  fail(error);
}
