/**
 * `cali run`'s configuration from the environment (12-factor), validated at
 * start-up: every problem names the variable and the fix.
 */
import { availableParallelism } from 'node:os';
import { CaliError } from '../errors.js';
import { compileArchiveSinkConfig, type ArchiveSinkConfig } from '../pipeline/sinks/archive/config.js';
import { compileDlqSinkConfig, type DlqSinkConfig } from '../pipeline/sinks/dlq/config.js';
import { DEFAULT_IDLE_MS, DEFAULT_MAX_RECORDS } from '../pipeline/reader-settings.js';
import { compileLeaseConfig, DEFAULT_FAILOVER_MS, DEFAULT_TAKE_INTERVAL_MS, type InitialPosition, type LeaseConfig } from '../lease/config.js';
import type { OpenSearchSinkConfig } from '../pipeline/sinks/opensearch/config.js';
import { loadAlertingEnv, type AlertingEnvConfig } from './alerting-config.js';
import { loadRagConfig, type RagConfig } from './rag-config.js';
import { loadKinesisStreamEnv, optionalUrl, requiredString, settingError, type Env, type KinesisStreamEnv } from './env.js';
import { loadMetricsServerConfig, loadOpenSearchConfig, type MetricsServerConfig } from './telemetry-env.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface RunConfig {
  readonly logLevel: LogLevelName;
  readonly stream: KinesisStreamEnv;
  readonly appName: string;
  readonly dynamoDbEndpoint: string | undefined;
  readonly lease: LeaseConfig;
  readonly s3Endpoint: string | undefined;
  readonly archive: ArchiveSinkConfig;
  readonly dlq: DlqSinkConfig;
  /** Worker threads for validation and fingerprinting. */
  readonly workerThreads: number;
  /** CALI_MAX_RECORDS / CALI_IDLE_TIME_MS: GetRecords' Limit and the pause between reads of a caught-up shard. */
  readonly reader: { readonly maxRecords: number; readonly idleMs: number };
  /** CALI_METRICS_PORT / CALI_METRICS_HOST: /metrics, /healthz, /readyz, /status. */
  readonly metrics: MetricsServerConfig;
  /** OPENSEARCH_URL and CALI_OPENSEARCH_*; undefined: no search index. */
  readonly opensearch: OpenSearchSinkConfig | undefined;
  readonly alerting: AlertingEnvConfig;
  /** CALI_RAG_*, OPENAI_*, MILVUS_*: analysis of new incidents (docs/rag.md). */
  readonly rag: RagConfig;
}

/** DynamoDB table names: 3-255 of [a-zA-Z0-9_.-]; the app name names the lease table. */
const APP_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

function parseInitialPosition(value: string | undefined): InitialPosition {
  const raw = value?.trim();
  if (!raw || raw === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
  if (raw === 'LATEST') return { type: 'LATEST' };
  const at = /^AT_TIMESTAMP:(.+)$/.exec(raw);
  const timestampMs = at ? Date.parse(at[1]!) : Number.NaN;
  if (Number.isFinite(timestampMs)) return { type: 'AT_TIMESTAMP', timestampMs };
  throw settingError('CALI_INITIAL_POSITION', `is "${raw}": use TRIM_HORIZON, LATEST or AT_TIMESTAMP:<ISO-8601 time>`);
}

function parseWholeNumber(env: Env, variable: string, fallback: number, unit = 'milliseconds'): number {
  const raw = env[variable]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw settingError(variable, `is "${raw}": set a whole number of ${unit}, e.g. ${fallback}`);
  return value;
}

export const ARCHIVE_URI_FIX = 'set it to s3://bucket/prefix/ or a local directory for the archive of valid records';
export const DLQ_URI_FIX = 'set it to s3://bucket/prefix/ or a local directory for the dead-letter queue';

/** CALI_WORKER_THREADS: 1-64 worker threads, `fallback` when unset. */
export function loadWorkerThreads(env: Env, fallback: number, fallbackDescription: string): number {
  const raw = env.CALI_WORKER_THREADS?.trim();
  const threads = raw ? Number(raw) : fallback;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw settingError('CALI_WORKER_THREADS', `is "${raw}": set a whole number of threads from 1 to 64 (default: ${fallbackDescription})`);
  }
  return threads;
}

/** Kinesis allows 5 GetRecords per second per shard, shared by every application reading it. */
const MIN_IDLE_MS = 200;

function loadReaderConfig(env: Env): RunConfig['reader'] {
  const maxRecords = parseWholeNumber(env, 'CALI_MAX_RECORDS', DEFAULT_MAX_RECORDS, 'records');
  if (maxRecords > DEFAULT_MAX_RECORDS) throw settingError('CALI_MAX_RECORDS', `is ${maxRecords}: GetRecords returns at most ${DEFAULT_MAX_RECORDS} records; set 1 to ${DEFAULT_MAX_RECORDS}`);
  const idleMs = parseWholeNumber(env, 'CALI_IDLE_TIME_MS', DEFAULT_IDLE_MS);
  if (idleMs < MIN_IDLE_MS) throw settingError('CALI_IDLE_TIME_MS', `is ${idleMs}: Kinesis allows 5 reads per second per shard for all applications together; set at least ${MIN_IDLE_MS}`);
  return { maxRecords, idleMs };
}

export function loadRunConfig(env: Env): RunConfig {
  const stream = loadKinesisStreamEnv(env);
  const appName = env.CALI_APP_NAME?.trim() || 'cali';
  if (!APP_NAME.test(appName)) throw settingError('CALI_APP_NAME', `is "${appName}": use 3-255 letters, digits, "_", "." or "-" (it names the DynamoDB lease table)`);
  const workerId = env.CALI_WORKER_ID?.trim() || undefined;
  const failoverMs = parseWholeNumber(env, 'CALI_FAILOVER_MS', DEFAULT_FAILOVER_MS);
  const takeIntervalMs = parseWholeNumber(env, 'CALI_TAKE_INTERVAL_MS', DEFAULT_TAKE_INTERVAL_MS);
  let lease: LeaseConfig;
  try {
    lease = compileLeaseConfig({ workerId, failoverMs, takeIntervalMs, initialPosition: parseInitialPosition(env.CALI_INITIAL_POSITION) });
  } catch (error) {
    if (error instanceof CaliError) throw error;
    throw settingError('CALI_FAILOVER_MS', String(error));
  }
  const logLevel = (env.CALI_LOG_LEVEL?.trim() || 'info') as LogLevelName;
  if (!LOG_LEVELS.includes(logLevel)) throw settingError('CALI_LOG_LEVEL', `is "${logLevel}": use one of ${LOG_LEVELS.join(', ')}`);
  const archiveUri = requiredString(env, 'CALI_ARCHIVE_URI', ARCHIVE_URI_FIX);
  const dlqUri = requiredString(env, 'CALI_DLQ_URI', DLQ_URI_FIX);
  const workerThreads = loadWorkerThreads(env, availableParallelism(), 'the number of cores');
  return {
    logLevel, stream, appName, lease, workerThreads,
    reader: loadReaderConfig(env),
    dynamoDbEndpoint: optionalUrl(env, 'AWS_ENDPOINT_URL_DYNAMODB'),
    s3Endpoint: optionalUrl(env, 'AWS_ENDPOINT_URL_S3'),
    archive: compileArchiveSinkConfig({ uri: archiveUri }),
    dlq: compileDlqSinkConfig({ uri: dlqUri }),
    metrics: loadMetricsServerConfig(env),
    opensearch: loadOpenSearchConfig(env),
    alerting: loadAlertingEnv(env, appName),
    rag: loadRagConfig(env),
  };
}
