/**
 * Alerting settings from the environment: where alerts go (a Slack incoming
 * webhook, a bot token and channel, or the console and a file), the rules
 * file, the environment name shown in alerts, the alert table. Errors name
 * the variable and the fix and never repeat a webhook URL or a token.
 */
import { configError, type Env } from './env.js';

export type AlertOutput =
  | { readonly type: 'webhook'; readonly url: string }
  | { readonly type: 'bot'; readonly token: string; readonly channel: string; readonly apiUrl: string | undefined }
  | { readonly type: 'console'; readonly file: string | undefined };

export interface AlertingEnvConfig {
  readonly output: AlertOutput;
  /** CALI_CONFIG: YAML or JSON file whose `alerting` section holds the rules. */
  readonly configPath: string | undefined;
  readonly environment: string | undefined;
  readonly tableName: string;
  /** On SIGTERM: how long alerting may take to send what is queued. */
  readonly shutdownTimeoutMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http on loopback (a stand-in or a local relay). The value is never echoed. */
function secretUrl(env: Env, variable: string, fix: string): string | undefined {
  const value = env[variable]?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(variable, 'is not a URL', fix);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw configError(variable, 'must be an https URL (http only on 127.0.0.1 or localhost)', fix);
  }
  return value;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

export function loadAlertingEnv(env: Env, appName: string): AlertingEnvConfig {
  const webhook = secretUrl(env, 'SLACK_WEBHOOK_URL', 'set it to the incoming webhook URL Slack gave you (https://hooks.slack.com/services/...)');
  const token = env.SLACK_BOT_TOKEN?.trim() || undefined;
  const channel = env.SLACK_CHANNEL?.trim() || undefined;
  const apiUrl = secretUrl(env, 'SLACK_API_URL', 'unset it to use https://slack.com/api/, or set a proxy\'s https URL');
  let output: AlertOutput;
  if (webhook !== undefined && token !== undefined) {
    throw configError('SLACK_WEBHOOK_URL', 'and SLACK_BOT_TOKEN are both set', 'set only one: the bot token (with SLACK_CHANNEL) threads repeats under the alert, the webhook posts digests as messages');
  }
  if (token !== undefined) {
    if (!/^xox[bp]-[A-Za-z0-9-]{10,}$/.test(token)) throw configError('SLACK_BOT_TOKEN', 'is not a Slack bot or user token', 'set the xoxb-... token of your Slack app (scope chat:write)');
    if (channel === undefined) throw configError('SLACK_CHANNEL', 'is not set', 'set the channel alerts go to by default (name such as #alerts, or id such as C0123456789); the bot must be a member');
    output = { type: 'bot', token, channel, apiUrl: apiUrl === undefined ? undefined : apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` };
  } else if (webhook !== undefined) {
    output = { type: 'webhook', url: webhook };
  } else {
    if (channel !== undefined) throw configError('SLACK_CHANNEL', 'is set without SLACK_BOT_TOKEN', 'set SLACK_BOT_TOKEN too, or unset SLACK_CHANNEL (a webhook is bound to its channel)');
    output = { type: 'console', file: env.CALI_ALERTS_FILE?.trim() || undefined };
  }
  const tableName = env.CALI_ALERT_TABLE?.trim() || `${appName}-alerts`;
  if (!TABLE_NAME.test(tableName)) throw configError('CALI_ALERT_TABLE', `is "${tableName}"`, 'use 3-255 letters, digits, "_", "." or "-" (a DynamoDB table name)');
  const environment = env.CALI_ENVIRONMENT?.trim() || undefined;
  if (environment !== undefined && environment.length > 64) throw configError('CALI_ENVIRONMENT', 'is longer than 64 characters', 'use a short name such as production or staging');
  const rawShutdown = env.CALI_ALERT_SHUTDOWN_MS?.trim();
  const shutdownTimeoutMs = rawShutdown ? Number(rawShutdown) : 5_000;
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0 || shutdownTimeoutMs > 120_000) {
    throw configError('CALI_ALERT_SHUTDOWN_MS', `is "${rawShutdown}"`, 'set a whole number of milliseconds from 0 to 120000 (default 5000)');
  }
  return { output, configPath: env.CALI_CONFIG?.trim() || undefined, environment, tableName, shutdownTimeoutMs };
}
