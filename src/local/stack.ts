/**
 * The embedded AWS stack: Kinesis (kinesis-mock child process), DynamoDB
 * (dynalite) and S3 (s3rver), all on 127.0.0.1, provisioned with the stream,
 * the lease table and the buckets CALI expects. Used by the CLI and tests only,
 * never by the engine: the engine sees it through the environment in `env`.
 */
import { join } from 'node:path';
import { createDynamoDbClient, createKinesisClient, type AwsStaticCredentials } from '../aws.js';
import type { CaliError } from '../errors.js';
import { createLeaseTableIfMissing } from '../lease/table.js';
import { createAlertTableIfMissing } from '../pipeline/alerting/alert-store.js';
import { startDynamoDbEmulator } from './dynamodb.js';
import { createStream, startKinesisEmulator, type KinesisLogLevel } from './kinesis.js';
import { S3RVER_CREDENTIALS, startS3Emulator } from './s3.js';

export const LOCAL_REGION = 'us-east-1';
export const DLQ_BUCKET = 'cali-dlq';
export const ARCHIVE_BUCKET = 'cali-archive';

export interface LocalStackOptions {
  shards: number;
  streamName: string;
  /** Names the lease table, like KCL's application name. */
  appName: string;
  /** Loopback ports; free ones are picked for those unset. */
  ports?: { kinesis?: number; dynamodb?: number; s3?: number };
  /** S3 objects are kept in `<dataDir>/s3`; unset means a temporary directory removed on stop. */
  dataDir?: string;
  kinesisLogLevel?: KinesisLogLevel;
  /** Lines the Kinesis emulator prints (warnings, errors); dropped when unset. */
  onKinesisOutput?: (line: string) => void;
}

export interface LocalStackEndpoints {
  kinesis: string;
  dynamodb: string;
  s3: string;
}

/** The variables a CALI process (or any AWS SDK v3 program) needs to use the stack. */
export const LOCAL_STACK_ENV_NAMES = [
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_ENDPOINT_URL_KINESIS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_S3',
  'AWS_REQUEST_CHECKSUM_CALCULATION',
  'AWS_RESPONSE_CHECKSUM_VALIDATION',
  'CALI_STREAM_NAME',
  'CALI_APP_NAME',
  'CALI_DLQ_URI',
  'CALI_ARCHIVE_URI',
] as const;

export type LocalStackEnv = Readonly<Record<(typeof LOCAL_STACK_ENV_NAMES)[number], string>>;

export interface LocalStack {
  readonly env: LocalStackEnv;
  readonly endpoints: Readonly<LocalStackEndpoints>;
  readonly region: string;
  /** The one key pair all three emulators accept (s3rver insists on it). */
  readonly credentials: Readonly<AwsStaticCredentials>;
  /** The Kinesis emulator's child process. */
  readonly kinesisPid: number;
  /** Resolves if an emulator dies on its own (not through stop()); otherwise never. */
  readonly crashed: Promise<CaliError>;
  /** Stops all three emulators; idempotent. */
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): Promise<void>;
}

async function stopAll(parts: readonly Stoppable[]): Promise<void> {
  const results = await Promise.allSettled(parts.map((part) => part.stop()));
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

/** On a failed start: the start error is the one worth reporting, not a follow-up failure to stop. */
async function stopQuietly(parts: readonly Stoppable[]): Promise<void> {
  await Promise.allSettled(parts.map((part) => part.stop()));
}

function localEnv(options: LocalStackOptions, endpoints: LocalStackEndpoints): LocalStackEnv {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    CALI_STREAM_NAME: options.streamName,
    CALI_APP_NAME: options.appName,
    CALI_DLQ_URI: `s3://${DLQ_BUCKET}/dlq/`,
    CALI_ARCHIVE_URI: `s3://${ARCHIVE_BUCKET}/archive/`,
  };
}

/** Starts and provisions the stack; on any failure, whatever already started is stopped before the error propagates. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const results = await Promise.allSettled([
    startKinesisEmulator({
      region: LOCAL_REGION,
      ...(options.ports?.kinesis === undefined ? {} : { port: options.ports.kinesis }),
      ...(options.kinesisLogLevel === undefined ? {} : { logLevel: options.kinesisLogLevel }),
      ...(options.onKinesisOutput === undefined ? {} : { onOutput: options.onKinesisOutput }),
    }),
    startDynamoDbEmulator(options.ports?.dynamodb === undefined ? {} : { port: options.ports.dynamodb }),
    startS3Emulator({
      buckets: [DLQ_BUCKET, ARCHIVE_BUCKET],
      ...(options.ports?.s3 === undefined ? {} : { port: options.ports.s3 }),
      ...(options.dataDir === undefined ? {} : { directory: join(options.dataDir, 's3') }),
    }),
  ]);
  const [kinesisResult, dynamoDbResult, s3Result] = results;
  if (kinesisResult.status === 'rejected' || dynamoDbResult.status === 'rejected' || s3Result.status === 'rejected') {
    await stopQuietly(results.flatMap((result): Stoppable[] => (result.status === 'fulfilled' ? [result.value] : [])));
    throw results.find((result) => result.status === 'rejected')?.reason;
  }
  const kinesis = kinesisResult.value;
  const dynamoDb = dynamoDbResult.value;
  const s3 = s3Result.value;
  const parts = [kinesis, dynamoDb, s3];

  const endpoints: LocalStackEndpoints = { kinesis: kinesis.endpoint, dynamodb: dynamoDb.endpoint, s3: s3.endpoint };
  const clientOptions = { region: LOCAL_REGION, credentials: S3RVER_CREDENTIALS };
  const kinesisClient = createKinesisClient({ ...clientOptions, endpoint: endpoints.kinesis });
  const dynamoDbClient = createDynamoDbClient({ ...clientOptions, endpoint: endpoints.dynamodb });
  try {
    await Promise.all([
      createStream(kinesisClient, options.streamName, options.shards),
      createLeaseTableIfMissing(dynamoDbClient, options.appName),
      // The consumers' default CALI_ALERT_TABLE; TTL stays off (dynalite has no UpdateTimeToLive).
      createAlertTableIfMissing(dynamoDbClient, `${options.appName}-alerts`),
    ]);
  } catch (error) {
    await stopQuietly(parts);
    throw error;
  } finally {
    kinesisClient.destroy();
    dynamoDbClient.destroy();
  }

  let stopping: Promise<void> | undefined;
  return {
    env: localEnv(options, endpoints),
    endpoints,
    region: LOCAL_REGION,
    credentials: S3RVER_CREDENTIALS,
    kinesisPid: kinesis.pid,
    // dynalite and s3rver run in our process: only the Kinesis child can die on its own.
    crashed: kinesis.crashed,
    stop: () => (stopping ??= stopAll(parts)),
  };
}

const SHELL_SAFE = /^[A-Za-z0-9_./:@%+,=-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `KEY=value` lines that `set -a; . FILE` in a POSIX shell reads back
 * verbatim: values outside a conservative safe set are single-quoted. Safe
 * values (all of the stack's) stay unquoted so `docker run --env-file`, which
 * does no unquoting, reads the same values.
 */
export function formatEnvFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new Error(`not a valid environment variable name: "${name}"`);
      const quoted = SHELL_SAFE.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
      return `${name}=${quoted}\n`;
    })
    .join('');
}
