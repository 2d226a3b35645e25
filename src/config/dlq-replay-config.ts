/**
 * `cali dlq replay`'s configuration from the environment: the same DLQ and
 * archive destinations as `cali run` (CALI_DLQ_URI, CALI_ARCHIVE_URI), the S3
 * endpoint and region when either is in S3, and the worker threads. Validated
 * before anything is read; every problem names the variable and the fix.
 */
import { availableParallelism } from 'node:os';
import { CaliError } from '../errors.js';
import { compileArchiveSinkConfig, type ArchiveSinkConfig } from '../pipeline/sinks/archive/config.js';
import { compileDlqSinkConfig, type DlqSinkConfig } from '../pipeline/sinks/dlq/config.js';
import { optionalUrl, requiredString, type Env } from './env.js';
import { ARCHIVE_URI_FIX, DLQ_URI_FIX, loadWorkerThreads } from './run-config.js';

export interface DlqReplayConfig {
  readonly dlq: DlqSinkConfig;
  readonly archive: ArchiveSinkConfig;
  /** Set when a destination is in S3 (then required). */
  readonly region: string | undefined;
  readonly s3Endpoint: string | undefined;
  /** A replay is a few thousand records: two threads unless CALI_WORKER_THREADS says otherwise. */
  readonly workerThreads: number;
}

export const DEFAULT_REPLAY_THREADS = 2;

export function loadDlqReplayConfig(env: Env): DlqReplayConfig {
  const dlq = compileDlqSinkConfig({ uri: requiredString(env, 'CALI_DLQ_URI', DLQ_URI_FIX) });
  const archive = compileArchiveSinkConfig({ uri: requiredString(env, 'CALI_ARCHIVE_URI', ARCHIVE_URI_FIX) });
  const usesS3 = dlq.destination.kind === 's3' || archive.destination.kind === 's3';
  const region = env.AWS_REGION?.trim() || undefined;
  if (usesS3 && region === undefined) {
    throw new CaliError('CALI_ERR_CONFIG', 'AWS_REGION is not set: set it to the region of the DLQ and archive buckets, e.g. AWS_REGION=us-east-1');
  }
  const workerThreads = loadWorkerThreads(env, Math.min(DEFAULT_REPLAY_THREADS, availableParallelism()), String(DEFAULT_REPLAY_THREADS));
  return Object.freeze({ dlq, archive, region, s3Endpoint: optionalUrl(env, 'AWS_ENDPOINT_URL_S3'), workerThreads });
}
