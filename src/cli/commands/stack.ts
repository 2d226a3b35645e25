import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CaliError } from '../../errors.js';
import { isStackTraceLine, KINESIS_LOG_LEVELS, type KinesisLogLevel } from '../../local/kinesis.js';
import { ARCHIVE_BUCKET, DLQ_BUCKET, formatEnvFile, startLocalStack, type LocalStack } from '../../local/stack.js';
import { intOption } from '../options.js';
import { shutdownSignal } from '../shutdown.js';

interface StackCommandOptions {
  shards: number;
  envFile?: string;
  stream: string;
  app: string;
  kinesisPort?: number;
  dynamodbPort?: number;
  s3Port?: number;
  dataDir?: string;
  kinesisLogLevel: KinesisLogLevel;
}

/** The emulator slows down with every shard; beyond this a local stack is not useful. */
const MAX_SHARDS = 200;

function nameOption(what: string, pattern: RegExp, rule: string): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`not a valid ${what}: ${rule}`);
    return value;
  };
}

// The AWS naming rules, so that a name that works here works against AWS.
const streamName = nameOption('stream name', /^[A-Za-z0-9_.-]{1,128}$/, '1-128 characters from A-Z a-z 0-9 _ . -');
const appName = nameOption(
  'application name (it names the DynamoDB lease table)',
  /^[A-Za-z0-9_.-]{3,255}$/,
  '3-255 characters from A-Z a-z 0-9 _ . -',
);
const port = intOption(1, 65_535);

export function registerStack(program: Command): void {
  program
    .command('stack')
    .summary('run only the embedded Kinesis, DynamoDB and S3 on 127.0.0.1 until stopped')
    .description(
      'Run an embedded AWS stack on 127.0.0.1 for development and tests: Kinesis (kinesis-mock, ' +
        'as a child process), DynamoDB (dynalite, in memory) and S3 (s3rver). It creates the stream, ' +
        `the lease table (named after --app) and the buckets ${DLQ_BUCKET} and ${ARCHIVE_BUCKET}, prints the ` +
        'environment a CALI process needs as KEY=value lines on stdout (and to --env-file), then runs ' +
        'until SIGINT or SIGTERM. Everything is lost on exit except S3 objects kept with --data-dir.',
    )
    .option('--shards <n>', `shards in the stream (1-${MAX_SHARDS})`, intOption(1, MAX_SHARDS), 4)
    .option('--env-file <file>', 'also write the environment to FILE, removed again on exit')
    .option('--stream <name>', 'Kinesis stream name (CALI_STREAM_NAME)', streamName, 'cali-logs')
    .option('--app <name>', 'application name; names the lease table (CALI_APP_NAME)', appName, 'cali')
    .option('--kinesis-port <port>', 'Kinesis port (default: a free port)', port)
    .option('--dynamodb-port <port>', 'DynamoDB port (default: a free port)', port)
    .option('--s3-port <port>', 'S3 port (default: a free port)', port)
    .option('--data-dir <dir>', 'keep S3 objects in DIR/s3 across runs (default: a temporary directory)')
    .addOption(
      new Option('--kinesis-log-level <level>', "Kinesis emulator's log level; its lines go to stderr")
        .choices(KINESIS_LOG_LEVELS)
        .default('WARN'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  cali stack --env-file .cali/stack.env &\n' +
        '  set -a; . .cali/stack.env; set +a    # then any AWS SDK or CLI call uses the stack\n' +
        '  aws kinesis list-shards --stream-name "$CALI_STREAM_NAME"\n',
    )
    .action((options: StackCommandOptions) => runStack(options));
}

/** Written whole or not at all, so a script polling for the file never reads half of it. */
async function writeEnvFile(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(partial, text);
    await rename(partial, file);
  } catch (error) {
    // Best effort: the write error is the one to report.
    await rm(partial, { force: true }).catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new CaliError('CALI_ERR_USAGE', `cannot write the env file ${file}: ${reason}`, { cause: error });
  }
}

function readyLine(stack: LocalStack, options: StackCommandOptions, startMs: number): string {
  const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
  const { kinesis, dynamodb, s3 } = stack.endpoints;
  return (
    `cali: stack ready in ${seconds} s: Kinesis ${kinesis} (stream ${options.stream}, ${options.shards} shards), ` +
    `DynamoDB ${dynamodb} (lease table ${options.app}), S3 ${s3}; stop with Ctrl-C or SIGTERM\n`
  );
}

async function runStack(options: StackCommandOptions): Promise<void> {
  // Listening before the start means a Ctrl-C during start-up still stops cleanly.
  const stopRequested = shutdownSignal();
  const startMs = performance.now();
  const stack = await startLocalStack({
    shards: options.shards,
    streamName: options.stream,
    appName: options.app,
    ports: { kinesis: options.kinesisPort, dynamodb: options.dynamodbPort, s3: options.s3Port },
    dataDir: options.dataDir,
    kinesisLogLevel: options.kinesisLogLevel,
    onKinesisOutput: (line) => {
      if (!isStackTraceLine(line)) process.stderr.write(`kinesis: ${line}\n`);
    },
  });
  let envFileWritten = false;
  try {
    const envText = formatEnvFile(stack.env);
    if (options.envFile !== undefined) {
      await writeEnvFile(options.envFile, envText);
      envFileWritten = true;
    }
    process.stdout.write(envText);
    process.stderr.write(readyLine(stack, options, startMs));
    const outcome = await Promise.race([stopRequested, stack.crashed]);
    if (outcome instanceof CaliError) throw outcome;
    process.stderr.write(`cali: ${outcome}, stopping the stack\n`);
  } finally {
    // Its endpoints die with the stack: a stale file would point the next reader at nothing.
    if (envFileWritten && options.envFile !== undefined) await rm(options.envFile, { force: true });
    await stack.stop();
  }
}
