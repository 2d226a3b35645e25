/**
 * Environment of the telemetry server (CALI_METRICS_*) and of the OpenSearch
 * sink (OPENSEARCH_URL enables it, CALI_OPENSEARCH_* tune it). Every problem
 * names the variable and the fix.
 */
import { compileOpenSearchSinkConfig, type OpenSearchSinkConfig } from '../pipeline/sinks/opensearch/config.js';
import { settingError, type Env } from './env.js';

export const DEFAULT_METRICS_PORT = 9464;

export interface MetricsServerConfig {
  /** 0 picks a free port (logged at start-up). */
  readonly port: number;
  readonly host: string;
}

export function loadMetricsServerConfig(env: Env): MetricsServerConfig {
  const raw = env.CALI_METRICS_PORT?.trim();
  const port = raw ? Number(raw) : DEFAULT_METRICS_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw settingError('CALI_METRICS_PORT', `is "${raw}": set a port from 1 to 65535 (default ${DEFAULT_METRICS_PORT}), or 0 to pick a free one`);
  }
  const host = env.CALI_METRICS_HOST?.trim() || '0.0.0.0';
  if (!/^[0-9a-zA-Z.:_-]+$/.test(host)) throw settingError('CALI_METRICS_HOST', `is "${host}": set an address to listen on, e.g. 0.0.0.0 or 127.0.0.1`);
  return { port, host };
}

function integer(env: Env, variable: string): number | undefined {
  const raw = env[variable]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw settingError(variable, `is "${raw}": set a whole number`);
  return value;
}

function boolean(env: Env, variable: string): boolean | undefined {
  const raw = env[variable]?.trim().toLowerCase();
  if (!raw) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw settingError(variable, `is "${raw}": set true or false`);
}

/** Undefined when OPENSEARCH_URL is unset: no search sink. */
export function loadOpenSearchConfig(env: Env): OpenSearchSinkConfig | undefined {
  const url = env.OPENSEARCH_URL?.trim();
  if (!url) return undefined;
  const optional = <T>(name: string, value: T | undefined): Record<string, T> => (value === undefined ? {} : { [name]: value });
  const attemptTimeoutMs = integer(env, 'CALI_OPENSEARCH_TIMEOUT_MS');
  const maxAttempts = integer(env, 'CALI_OPENSEARCH_MAX_ATTEMPTS');
  return compileOpenSearchSinkConfig({
    url,
    ...optional('indexPrefix', env.CALI_OPENSEARCH_INDEX_PREFIX?.trim() || undefined),
    ...optional('incidentsIndex', env.CALI_OPENSEARCH_INCIDENTS_INDEX?.trim() || undefined),
    ...optional('gatesCheckpoint', boolean(env, 'CALI_OPENSEARCH_GATES_CHECKPOINT')),
    ...optional('installTemplates', boolean(env, 'CALI_OPENSEARCH_INSTALL_TEMPLATES')),
    ...optional('maxBulkBytes', integer(env, 'CALI_OPENSEARCH_MAX_BULK_BYTES')),
    ...optional('maxBulkDocuments', integer(env, 'CALI_OPENSEARCH_MAX_BULK_DOCUMENTS')),
    ...optional('maxBulkAgeMs', integer(env, 'CALI_OPENSEARCH_MAX_BULK_AGE_MS')),
    ...optional('maxBufferedBytes', integer(env, 'CALI_OPENSEARCH_MAX_BUFFERED_BYTES')),
    ...optional('retentionDays', integer(env, 'CALI_OPENSEARCH_RETENTION_DAYS')),
    ...optional('replicas', integer(env, 'CALI_OPENSEARCH_REPLICAS')),
    ...optional('shards', integer(env, 'CALI_OPENSEARCH_SHARDS')),
    ...(attemptTimeoutMs === undefined && maxAttempts === undefined ? {} : { retry: { ...optional('attemptTimeoutMs', attemptTimeoutMs), ...optional('maxAttempts', maxAttempts) } }),
  });
}
