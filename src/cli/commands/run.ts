import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { loadChaosConfig, type ChaosConfig } from '../../config/chaos-config.js';
import { loadRunConfig } from '../../config/run-config.js';
import { FaultInjectingLeaseStore } from '../../lease/faulty-lease-store.js';
import { startConsumer, type ConsumerOptions, type RunningConsumer } from '../../main.js';
import { shutdownSignal } from '../shutdown.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the production consumer: lease shards of the stream through the DynamoDB lease table and process them')
    .addHelpText('after', `
Environment: AWS_REGION, CALI_STREAM_NAME, CALI_APP_NAME (names the lease table,
default "cali"), CALI_WORKER_ID (default host-pid), CALI_FAILOVER_MS (default
10000), CALI_TAKE_INTERVAL_MS (lease table scans, default 500), CALI_MAX_RECORDS
(GetRecords limit, default 10000), CALI_IDLE_TIME_MS (pause between reads of a
caught-up shard, default 250), CALI_INITIAL_POSITION (TRIM_HORIZON | LATEST | AT_TIMESTAMP:<ISO time>),
AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL_DYNAMODB for emulators, CALI_LOG_LEVEL
(info; debug logs every batch). CALI_METRICS_PORT (9464; 0 picks a free port) and
CALI_METRICS_HOST (0.0.0.0) for /metrics /healthz /readyz /status, OPENSEARCH_URL
(enables the search index) and CALI_OPENSEARCH_* (docs/metrics.md, docs/search.md).
Alerting: SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN +
SLACK_CHANNEL (threads and updates); neither: alerts are logged as text
(alert.local) and appended to CALI_ALERTS_FILE if set. CALI_CONFIG (rules file,
YAML/JSON, see docs/alerting.md), CALI_ENVIRONMENT, CALI_ALERT_TABLE (default
<app name>-alerts), CALI_ALERT_SHUTDOWN_MS (default 5000).
Logs are JSON lines on stdout. SIGTERM or SIGINT: finish batches, checkpoint,
release the leases (others take them within about a second), exit 0.
Chaos runs only (docs/performance.md): CALI_CHAOS_SEED enables fault injection
into the lease table (CALI_CHAOS_LEASE_THROTTLE_RATE, _SERVER_ERROR_RATE,
_AMBIGUOUS_RATE) and makes SIGUSR2 crash the worker thread of the next batch mid-batch.`)
    .action(async () => {
      const stopRequested = shutdownSignal();
      const config = loadRunConfig(process.env);
      const chaos = loadChaosConfig(process.env);
      const logger = pino({ level: config.logLevel, base: { workerId: config.lease.workerId }, timestamp: pino.stdTimeFunctions.epochTime });
      const injectors: FaultInjectingLeaseStore[] = [];
      const options: ConsumerOptions = chaos === undefined ? {} : {
        wrapLeaseStore: (store) => {
          const injector = new FaultInjectingLeaseStore(store, { seed: chaos.seed, faults: leaseFaults(chaos) });
          injectors.push(injector);
          return injector;
        },
      };
      const consumer = await startConsumer(config, logger, options);
      if (chaos !== undefined) killThreadsOnSignal(consumer, logger, chaos);
      const signal = await stopRequested;
      logger.info({ signal }, 'consumer.stopping');
      await consumer.stop();
      for (const injector of injectors) logger.info({ ...injector.injected }, 'chaos.lease_faults');
    });
}

function leaseFaults(chaos: ChaosConfig): { throttleRate: number; serverErrorRate: number; ambiguousRate: number } {
  return { throttleRate: chaos.leaseThrottleRate, serverErrorRate: chaos.leaseServerErrorRate, ambiguousRate: chaos.leaseAmbiguousRate };
}

function killThreadsOnSignal(consumer: RunningConsumer, logger: Logger, chaos: ChaosConfig): void {
  logger.info({ ...chaos }, 'chaos.enabled');
  process.on('SIGUSR2', () => {
    consumer.pool.crashNextBatch();
    logger.warn('chaos.thread_crash_armed');
  });
}
