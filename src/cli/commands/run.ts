import type { Command } from 'commander';
import { pino } from 'pino';
import { loadRunConfig } from '../../config/run-config.js';
import { startConsumer } from '../../main.js';
import { shutdownSignal } from '../shutdown.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the production consumer: lease shards of the stream through the DynamoDB lease table and process them')
    .addHelpText('after', `
Environment: AWS_REGION, CALI_STREAM_NAME, CALI_APP_NAME (names the lease table,
default "cali"), CALI_WORKER_ID (default host-pid), CALI_FAILOVER_MS (default
10000), CALI_INITIAL_POSITION (TRIM_HORIZON | LATEST | AT_TIMESTAMP:<ISO time>),
AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL_DYNAMODB for emulators, CALI_LOG_LEVEL
(info; debug logs every batch). Alerting: SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN +
SLACK_CHANNEL (threads and updates); neither: alerts are logged as text
(alert.local) and appended to CALI_ALERTS_FILE if set. CALI_CONFIG (rules file,
YAML/JSON, see docs/alerting.md), CALI_ENVIRONMENT, CALI_ALERT_TABLE (default
<app name>-alerts), CALI_ALERT_SHUTDOWN_MS (default 5000).
Logs are JSON lines on stdout. SIGTERM or SIGINT: finish batches, checkpoint,
release the leases (others take them within about a second), exit 0.`)
    .action(async () => {
      const stopRequested = shutdownSignal();
      const config = loadRunConfig(process.env);
      const logger = pino({ level: config.logLevel, base: { workerId: config.lease.workerId }, timestamp: pino.stdTimeFunctions.epochTime });
      const consumer = await startConsumer(config, logger);
      const signal = await stopRequested;
      logger.info({ signal }, 'consumer.stopping');
      await consumer.stop();
    });
}
