/**
 * OpenSearch sink settings, raw -> compiled once (defaults, cross-field
 * checks, frozen). OPENSEARCH_URL enables the sink; CALI_OPENSEARCH_* tune it
 * (src/config/run-config.ts reads the environment). Units are in the names.
 */
import { optionError, positiveInteger, rejectUnknownOptions } from '../options.js';
import { compileRetryPolicy, type RetryPolicy, type RetryPolicyInput } from '../retry-policy.js';

export const OPENSEARCH_URL_VARIABLE = 'OPENSEARCH_URL';

export interface OpenSearchSinkConfigInput {
  /** The cluster, e.g. https://user:password@search.example:9200 (credentials never appear in logs or errors). */
  readonly url: string;
  /** Daily log indices are `<indexPrefix>-YYYY.MM.DD` (UTC, from the event's time). */
  readonly indexPrefix?: string;
  /** Alerts and their analyses. */
  readonly incidentsIndex?: string;
  /** Whether the shard's checkpoint waits for the index to acknowledge (at-least-once into OpenSearch too). */
  readonly gatesCheckpoint?: boolean;
  /** A bulk request is sent once its body reaches this size... */
  readonly maxBulkBytes?: number;
  /** ...or holds this many documents... */
  readonly maxBulkDocuments?: number;
  /** ...or this long after its first document arrived. */
  readonly maxBulkAgeMs?: number;
  readonly maxInFlightRequests?: number;
  /** Bytes of documents held (open, waiting, in flight or being retried); past it write() waits, or refuses when the sink does not gate. */
  readonly maxBufferedBytes?: number;
  /** The ISM policy deletes a daily index this many days after it was created. */
  readonly retentionDays?: number;
  readonly shards?: number;
  readonly replicas?: number;
  /** Install the index templates and the ISM policy at start-up when missing. */
  readonly installTemplates?: boolean;
  readonly retry?: RetryPolicyInput;
}

export interface OpenSearchSinkConfig {
  readonly url: string;
  /** The URL without credentials: what logs, errors and /status show. */
  readonly location: string;
  readonly indexPrefix: string;
  readonly incidentsIndex: string;
  readonly gatesCheckpoint: boolean;
  readonly maxBulkBytes: number;
  readonly maxBulkDocuments: number;
  readonly maxBulkAgeMs: number;
  readonly maxInFlightRequests: number;
  readonly maxBufferedBytes: number;
  readonly retentionDays: number;
  readonly shards: number;
  readonly replicas: number;
  readonly installTemplates: boolean;
  readonly retry: RetryPolicy;
}

export const OPENSEARCH_DEFAULTS = Object.freeze({
  indexPrefix: 'cali-logs',
  incidentsIndex: 'cali-incidents',
  gatesCheckpoint: false,
  maxBulkBytes: 5 * 1024 * 1024,
  maxBulkDocuments: 5_000,
  maxBulkAgeMs: 1_000,
  maxInFlightRequests: 2,
  maxBufferedBytes: 64 * 1024 * 1024,
  retentionDays: 14,
  shards: 1,
  replicas: 1,
  installTemplates: true,
});

const OPTIONS: readonly (keyof OpenSearchSinkConfigInput)[] = [
  'url', 'indexPrefix', 'incidentsIndex', 'gatesCheckpoint', 'maxBulkBytes', 'maxBulkDocuments', 'maxBulkAgeMs',
  'maxInFlightRequests', 'maxBufferedBytes', 'retentionDays', 'shards', 'replicas', 'installTemplates', 'retry',
];

/** OpenSearch index names: lowercase, no spaces or \ / * ? " < > | , #, not starting with - _ +. */
const INDEX_NAME = /^[a-z0-9][a-z0-9._-]{0,200}$/;

const OWNER = `OpenSearch sink (${OPENSEARCH_URL_VARIABLE})`;

export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

export function compileOpenSearchSinkConfig(input: OpenSearchSinkConfigInput): OpenSearchSinkConfig {
  rejectUnknownOptions(input, OPTIONS, OWNER);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw optionError(OWNER, 'url', 'is not a URL', 'set OPENSEARCH_URL to http(s)://[user:password@]host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw optionError(OWNER, 'url', `must be http or https, got "${url.protocol}"`, 'set OPENSEARCH_URL to http(s)://[user:password@]host:port');
  }
  const d = OPENSEARCH_DEFAULTS;
  const int = (name: keyof typeof d & keyof OpenSearchSinkConfigInput): number =>
    positiveInteger(OWNER, name, (input[name] as number | undefined) ?? (d[name] as number), d[name] as number);
  const indexName = (name: 'indexPrefix' | 'incidentsIndex'): string => {
    const value = input[name] ?? d[name];
    if (!INDEX_NAME.test(value)) throw optionError(OWNER, name, `"${value}" is not a valid index name`, 'use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');
    return value;
  };
  const replicas = input.replicas ?? d.replicas;
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw optionError(OWNER, 'replicas', `must be 0 or more, got ${replicas}`, 'use e.g. 1');
  const config: OpenSearchSinkConfig = {
    url: input.url,
    location: redactUrl(url),
    indexPrefix: indexName('indexPrefix'),
    incidentsIndex: indexName('incidentsIndex'),
    gatesCheckpoint: input.gatesCheckpoint ?? d.gatesCheckpoint,
    maxBulkBytes: int('maxBulkBytes'),
    maxBulkDocuments: int('maxBulkDocuments'),
    maxBulkAgeMs: int('maxBulkAgeMs'),
    maxInFlightRequests: int('maxInFlightRequests'),
    maxBufferedBytes: int('maxBufferedBytes'),
    retentionDays: int('retentionDays'),
    shards: int('shards'),
    replicas,
    installTemplates: input.installTemplates ?? d.installTemplates,
    retry: compileRetryPolicy(OWNER, input.retry),
  };
  if (config.maxBufferedBytes < config.maxBulkBytes) {
    throw optionError(OWNER, 'maxBufferedBytes', `(${config.maxBufferedBytes}) is below maxBulkBytes (${config.maxBulkBytes})`, 'raise CALI_OPENSEARCH_MAX_BUFFERED_BYTES or lower CALI_OPENSEARCH_MAX_BULK_BYTES');
  }
  return Object.freeze(config);
}
