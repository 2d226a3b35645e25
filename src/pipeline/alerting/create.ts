/**
 * Builds the alerting engine from its settings: the rules file, the alert
 * table (created if missing), and the destinations for the configured output.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AlertingEnvConfig } from '../../config/alerting-config.js';
import type { IncidentAnalyzer } from '../rag/analysis.js';
import { AlertStore, createAlertTableIfMissing } from './alert-store.js';
import { loadAlertingConfig, type AlertingSettings } from './config.js';
import { ConsoleDestination } from './console.js';
import type { Destination, OutboundMessage } from './delivery.js';
import { AlertingEngine, type IncidentLog } from './engine.js';
import type { AlertEventBus } from './events.js';
import { BotDestination, WebhookDestination } from './slack.js';

export interface AlertingDependencies {
  readonly dynamoDb: DynamoDBClient;
  readonly owner: string;
  readonly events?: AlertEventBus;
  readonly analyzer?: IncidentAnalyzer | undefined;
  /** The OpenSearch incidents index, when search is configured. */
  readonly incidentLog?: IncidentLog | undefined;
  /** Console output (no Slack configured): one rendered message. */
  readonly print: (text: string, message: OutboundMessage) => void;
  readonly onError?: (error: unknown, context: string) => void;
}

export function destinationsFor(config: AlertingEnvConfig, settings: AlertingSettings, print: AlertingDependencies['print']): (route: string | undefined) => Destination {
  const output = config.output;
  switch (output.type) {
    case 'webhook': {
      const webhook = new WebhookDestination(output.url, settings.delivery.timeoutMs);
      return () => webhook;
    }
    case 'bot': {
      const client = BotDestination.client({ token: output.token, timeoutMs: settings.delivery.timeoutMs, apiUrl: output.apiUrl });
      const channels = new Map<string, BotDestination>();
      return (route) => {
        const channel = route ?? output.channel;
        let destination = channels.get(channel);
        if (destination === undefined) channels.set(channel, (destination = new BotDestination(client, channel)));
        return destination;
      };
    }
    case 'console': {
      const console = new ConsoleDestination(output.file, print);
      return () => console;
    }
  }
}

/** Loads and checks the rules file, so a bad one fails start-up before any network call or lease. */
export async function loadAlertingSettings(config: AlertingEnvConfig): Promise<AlertingSettings> {
  const loaded = await loadAlertingConfig(config.configPath);
  return config.environment === undefined ? loaded : Object.freeze({ ...loaded, environment: config.environment });
}

/** The engine, not started: startAlerting() creates the alert table if missing and starts it. */
export function createAlerting(config: AlertingEnvConfig, settings: AlertingSettings, deps: AlertingDependencies): AlertingEngine {
  return new AlertingEngine({
    settings,
    store: new AlertStore(deps.dynamoDb, config.tableName),
    destinationFor: destinationsFor(config, settings, deps.print),
    owner: deps.owner,
    ...(deps.events === undefined ? {} : { events: deps.events }),
    analyzer: deps.analyzer,
    incidentLog: deps.incidentLog,
    ...(deps.onError === undefined ? {} : { onError: deps.onError }),
  });
}

export async function startAlerting(engine: AlertingEngine, dynamoDb: DynamoDBClient, config: AlertingEnvConfig): Promise<void> {
  await createAlertTableIfMissing(dynamoDb, config.tableName);
  engine.start();
}
