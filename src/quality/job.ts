/**
 * One `cali quality` run: validate the window, then deliver the outputs
 * (result JSON and HTML report in the report destination, metrics file,
 * Pushgateway, Slack). The suite's verdict is the run's verdict; an output
 * that cannot be delivered is a warning, not a different verdict (the
 * `cali_quality_last_run_timestamp_seconds` series going stale is what
 * alerts on a job that stopped reporting).
 */
import type { ObjectStore } from '../pipeline/sinks/object-store/object-store.js';
import { validateArchive, type QualityRunOptions, type QualityStores } from './engine.js';
import { renderHtmlReport } from './html-report.js';
import { pushMetrics, renderPrometheusText, writeMetricsFile } from './metrics.js';
import type { SuiteValidationResult } from './result.js';
import { buildQualitySlackMessage, postSlackWebhook } from './slack.js';

export const RESULT_FILE = 'validation-result.json';
export const REPORT_FILE = 'report.html';

export interface QualityOutputs {
  /** Where the result JSON and the HTML report go. */
  readonly report?: ObjectStore | undefined;
  readonly metricsFile?: string | undefined;
  readonly pushgatewayUrl?: string | undefined;
  readonly slackWebhookUrl?: string | undefined;
  readonly fetch?: typeof fetch;
}

export interface QualityJobOutcome {
  readonly result: SuiteValidationResult;
  readonly warnings: readonly string[];
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function joinLocation(location: string, key: string): string {
  return `${location}${location.endsWith('/') ? '' : '/'}${key}`;
}

export async function runQualityJob(stores: QualityStores, options: QualityRunOptions, outputs: QualityOutputs): Promise<QualityJobOutcome> {
  const result = await validateArchive(stores, options);
  const warnings: string[] = [];
  const fetchImpl = outputs.fetch ?? fetch;
  if (outputs.report !== undefined) {
    const report = outputs.report;
    await report.put(RESULT_FILE, Buffer.from(`${JSON.stringify(result, null, 2)}\n`), { contentType: 'application/json' });
    await report.put(REPORT_FILE, Buffer.from(renderHtmlReport(result)), { contentType: 'text/html; charset=utf-8' });
  }
  const metrics = renderPrometheusText(result);
  if (outputs.metricsFile !== undefined) await writeMetricsFile(outputs.metricsFile, metrics);
  if (outputs.pushgatewayUrl !== undefined) {
    try {
      await pushMetrics(outputs.pushgatewayUrl, result.meta.expectation_suite_name, metrics, fetchImpl);
    } catch (error) {
      warnings.push(`metrics not pushed to CALI_PUSHGATEWAY_URL: ${describe(error)}`);
    }
  }
  if (outputs.slackWebhookUrl !== undefined) {
    const reportLocation = outputs.report === undefined ? undefined : joinLocation(outputs.report.location, REPORT_FILE);
    try {
      await postSlackWebhook(outputs.slackWebhookUrl, buildQualitySlackMessage(result, { reportLocation }), fetchImpl);
    } catch (error) {
      warnings.push(`Slack summary not sent: ${describe(error)}`);
    }
  }
  return { result, warnings };
}
