/**
 * `cali quality`'s configuration from the environment: the archive and DLQ
 * destinations as `cali run` writes them, the S3 region and endpoint when
 * either is in S3, and the optional outputs (Pushgateway, Slack webhook).
 * Validated before anything is read; errors name the variable and the fix,
 * and never repeat a secret's value (the webhook URL is one).
 */
import { CaliError } from '../errors.js';
import { parseDestinationUri, type Destination } from '../pipeline/sinks/object-store/destination.js';
import { optionalUrl, requiredString, type Env } from './env.js';
import { ARCHIVE_URI_FIX } from './run-config.js';

export interface QualityConfig {
  readonly archive: Destination;
  /** Unset: the suite must not need the DLQ. */
  readonly dlq: Destination | undefined;
  readonly region: string | undefined;
  readonly s3Endpoint: string | undefined;
  readonly pushgatewayUrl: string | undefined;
  readonly slackWebhookUrl: string | undefined;
}

function optionalSecretUrl(env: Env, variable: string): string | undefined {
  const value = env[variable]?.trim();
  if (!value) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new CaliError('CALI_ERR_CONFIG', `${variable} is not an http(s) URL (value not shown: it is a secret): set it to the incoming-webhook URL Slack gave you, or unset it`);
  }
  return value;
}

export function loadQualityConfig(env: Env): QualityConfig {
  const archive = parseDestinationUri(requiredString(env, 'CALI_ARCHIVE_URI', ARCHIVE_URI_FIX), 'CALI_ARCHIVE_URI');
  const dlqUri = env.CALI_DLQ_URI?.trim();
  const dlq = dlqUri ? parseDestinationUri(dlqUri, 'CALI_DLQ_URI') : undefined;
  const usesS3 = archive.kind === 's3' || dlq?.kind === 's3';
  const region = env.AWS_REGION?.trim() || undefined;
  if (usesS3 && region === undefined) {
    throw new CaliError('CALI_ERR_CONFIG', 'AWS_REGION is not set: set it to the region of the archive and DLQ buckets, e.g. AWS_REGION=us-east-1');
  }
  return Object.freeze({
    archive,
    dlq,
    region,
    s3Endpoint: optionalUrl(env, 'AWS_ENDPOINT_URL_S3'),
    pushgatewayUrl: optionalUrl(env, 'CALI_PUSHGATEWAY_URL'),
    slackWebhookUrl: optionalSecretUrl(env, 'SLACK_WEBHOOK_URL'),
  });
}
