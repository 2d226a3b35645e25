/**
 * The run's outcome as Prometheus metrics in the text exposition format
 * (0.0.4). A batch job has no /metrics to scrape for long, so the text goes
 * to a file for node-exporter's textfile collector (written to a temporary
 * file and renamed: the collector never reads half a file) and/or is PUT to a
 * Pushgateway (the whole group replaced each run, so a removed expectation's
 * series disappears). Labels: suite, expectation index, type and column: as
 * many series as the suite has expectations, nothing per record or value.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SuiteValidationResult } from './result.js';

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labels(pairs: Readonly<Record<string, string>>): string {
  return `{${Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function columnOf(kwargs: object): string {
  const k = kwargs as { column?: string; column_A?: string; column_B?: string; column_list?: string[] };
  if (k.column !== undefined) return k.column;
  if (k.column_A !== undefined) return `${k.column_A},${k.column_B ?? ''}`;
  if (k.column_list !== undefined) return k.column_list.join(',');
  return '';
}

export function renderPrometheusText(result: SuiteValidationResult): string {
  const suite = result.meta.expectation_suite_name;
  const base = { suite };
  const m = result.meta.batch_markers;
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: readonly (readonly [Record<string, string>, number])[]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [l, v] of samples) lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 'NaN'}`);
  };
  const perExpectation = result.results.map((r, i) => ({ ...base, index: String(i), expectation: r.expectation_config.expectation_type, column: columnOf(r.expectation_config.kwargs) }));
  gauge('cali_quality_suite_success', '1 if every expectation of the suite passed in the last run, else 0', [[base, result.success ? 1 : 0]]);
  gauge('cali_quality_expectation_success', '1 if the expectation passed in the last run, else 0', result.results.map((r, i) => [perExpectation[i]!, r.success ? 1 : 0]));
  gauge(
    'cali_quality_expectation_unexpected_ratio',
    'unexpected / non-missing values of the expectation in the last run (0..1); NaN when not applicable',
    result.results.map((r, i) => [perExpectation[i]!, r.result.unexpected_percent == null ? Number.NaN : r.result.unexpected_percent / 100]),
  );
  gauge('cali_quality_expectations_failed', 'expectations that failed in the last run', [[base, result.statistics.unsuccessful_expectations]]);
  gauge('cali_quality_rows', 'archived records in the validated window', [[base, m.archive_rows]]);
  gauge('cali_quality_dead_letters', 'dead letters in the validated window (NaN when the DLQ was not read)', [[base, m.dlq_records ?? Number.NaN]]);
  gauge('cali_quality_window_bytes', 'uncompressed NDJSON bytes read for the validated window', [[base, m.archive_bytes_uncompressed]]);
  gauge('cali_quality_unreadable_lines', 'archive lines in the window that were not archive records', [[base, m.unreadable_lines]]);
  gauge('cali_quality_unreadable_objects', 'archive objects in the window that could not be read to the end', [[base, m.unreadable_objects]]);
  gauge('cali_quality_duration_seconds', 'how long the last run took', [[base, result.meta.duration_seconds]]);
  gauge('cali_quality_last_run_timestamp_seconds', 'when the last run started (epoch seconds)', [[base, Date.parse(result.meta.run_id.run_time) / 1000]]);
  gauge('cali_quality_window_end_timestamp_seconds', 'end of the last validated window (epoch seconds)', [[base, Date.parse(result.meta.batch_spec.window.to) / 1000]]);
  return `${lines.join('\n')}\n`;
}

export async function writeMetricsFile(path: string, text: string): Promise<void> {
  // Same directory: rename is atomic only within one file system. The collector ignores files not ending in .prom.
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.prom.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

export const PUSH_TIMEOUT_MS = 10_000;

/** PUT replaces the job's whole group: `<url>/metrics/job/cali_quality/suite/<suite>`. */
export async function pushMetrics(pushgatewayUrl: string, suite: string, text: string, fetchImpl: typeof fetch = fetch): Promise<void> {
  const url = `${pushgatewayUrl.replace(/\/+$/, '')}/metrics/job/cali_quality/suite/${encodeURIComponent(suite)}`;
  const response = await fetchImpl(url, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    body: text,
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).slice(0, 200);
    throw new Error(`the Pushgateway answered HTTP ${response.status}${body ? `: ${body}` : ''}`);
  }
}
