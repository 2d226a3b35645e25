/**
 * The HTML report: one self-contained page (inline CSS and SVG, no script,
 * no external asset, so it opens from S3, a CI artifact or a mail
 * attachment), failing expectations first, and a small bar chart of the
 * volume per service over the baseline windows and the validated one.
 * Every value from the data is HTML-escaped: log lines are untrusted input.
 */
import type { ValueVolume } from './checks.js';
import type { ExpectationValidationResult, SuiteValidationResult } from './result.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const fmt = (value: unknown): string => {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toPrecision(4);
  if (value === null || value === undefined) return '–';
  return typeof value === 'string' ? value : JSON.stringify(value);
};

function kwargsText(result: ExpectationValidationResult): string {
  return Object.entries(result.expectation_config.kwargs)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

function summaryOf(result: ExpectationValidationResult): string {
  if (result.exception_info.raised_exception) return `exception: ${result.exception_info.exception_message ?? ''}`;
  const r = result.result;
  const parts: string[] = [];
  if (r.observed_value !== undefined && typeof r.observed_value !== 'object') parts.push(`observed ${fmt(r.observed_value)}`);
  if (r.observed_value === null) parts.push('observed –');
  if (r.unexpected_count !== undefined) parts.push(`${fmt(r.unexpected_count)} unexpected of ${fmt(r.element_count)}${r.unexpected_percent == null ? '' : ` (${r.unexpected_percent.toFixed(2)}%)`}`);
  if (r.missing_count) parts.push(`${fmt(r.missing_count)} missing`);
  const details = r.details;
  if (details !== undefined) {
    for (const key of ['age_minutes', 'max_difference_seconds', 'min_difference_seconds', 'baseline_windows_used', 'sampled']) {
      if (details[key] !== undefined && details[key] !== false) parts.push(`${key.replace(/_/g, ' ')} ${fmt(details[key])}`);
    }
  }
  return parts.join(' · ');
}

function examplesOf(result: ExpectationValidationResult): string {
  const list = result.result.partial_unexpected_list ?? [];
  if (list.length === 0) return '';
  const where = result.result.partial_unexpected_index_list ?? [];
  const items = list
    .map((value, i) => {
      const at = where[i];
      const place = at === undefined ? '' : ` <span class="where">${escapeHtml(at.object_key)}:${at.line_number}</span>`;
      return `<li><code>${escapeHtml(fmt(value))}</code>${place}</li>`;
    })
    .join('');
  return `<details><summary>${list.length} example${list.length === 1 ? '' : 's'}</summary><ul>${items}</ul></details>`;
}

const BAR_W = 10;
const GAP = 2;
const CHART_H = 40;

/** Bars: baseline windows grey, the validated window blue, or red when judged an outlier. */
function volumeChart(volume: ValueVolume, outlier: boolean): string {
  const max = Math.max(1, ...volume.counts);
  const width = volume.counts.length * (BAR_W + GAP);
  const bars = volume.counts
    .map((count, i) => {
      const h = Math.max(count > 0 ? 1 : 0, Math.round((count / max) * (CHART_H - 2)));
      const last = i === volume.counts.length - 1;
      const fill = last ? (outlier ? '#d93025' : '#1a73e8') : '#9aa0a6';
      return `<rect x="${i * (BAR_W + GAP)}" y="${CHART_H - h}" width="${BAR_W}" height="${h}" fill="${fill}"><title>${last ? 'this window' : `window -${volume.counts.length - 1 - i}`}: ${count}</title></rect>`;
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="volume of ${escapeHtml(volume.value)}" width="${width}" height="${CHART_H}" viewBox="0 0 ${width} ${CHART_H}">${bars}</svg>`;
}

function volumeSection(results: readonly ExpectationValidationResult[]): string {
  const volume = results.find((r) => r.expectation_config.expectation_type === 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows');
  const values = volume?.result.details?.values as ValueVolume[] | undefined;
  if (volume === undefined || values === undefined || values.length === 0) return '';
  const outliers = new Set((volume.result.partial_unexpected_list ?? []).map((o) => (o as { value: string }).value));
  const column = String((volume.expectation_config.kwargs as { column: string }).column);
  const cells = values
    .map((v) => {
      const outlier = outliers.has(v.value);
      const z = v.z === null ? '–' : v.z.toFixed(1);
      return `<div class="vol${outlier ? ' bad' : ''}"><div class="name">${escapeHtml(v.value)}</div>${volumeChart(v, outlier)}<div class="nums">${fmt(v.counts.at(-1))} now · mean ${v.baseline_mean.toFixed(1)} · z ${z}${v.judged ? '' : ' (not judged)'}</div></div>`;
    })
    .join('');
  return `<h2>Volume per ${escapeHtml(column)}</h2><p class="muted">Grey: the previous windows, oldest first; last bar: this window (red when beyond ${escapeHtml(fmt((volume.expectation_config.kwargs as { k_sigma: number }).k_sigma))} sigma).</p><div class="vols">${cells}</div>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#202124;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted,.where{color:#5f6368}.where{font-size:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.pass{background:#188038}.fail{background:#d93025}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e0e0e0;vertical-align:top}
tr.failed td{background:#fce8e6}code{font-size:12px;word-break:break-all}
.vols{display:flex;flex-wrap:wrap;gap:12px}.vol{border:1px solid #e0e0e0;border-radius:6px;padding:8px;min-width:150px}
.vol.bad{border-color:#d93025}.vol .name{font-weight:600}.vol .nums{font-size:12px;color:#5f6368}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#5f6368}`;

export function renderHtmlReport(result: SuiteValidationResult): string {
  const { meta, statistics } = result;
  const ordered = [...result.results].sort((a, b) => Number(a.success) - Number(b.success));
  const rows = ordered
    .map((r) => {
      const status = r.success ? '<span class="badge pass">pass</span>' : '<span class="badge fail">FAIL</span>';
      const notes = typeof r.expectation_config.meta?.notes === 'string' ? `<div class="muted">${escapeHtml(r.expectation_config.meta.notes)}</div>` : '';
      return `<tr class="${r.success ? 'passed' : 'failed'}"><td>${status}</td><td><code>${escapeHtml(r.expectation_config.expectation_type)}</code><div><code>${escapeHtml(kwargsText(r))}</code></div>${notes}</td><td>${escapeHtml(summaryOf(r))}${examplesOf(r)}</td></tr>`;
    })
    .join('');
  const m = meta.batch_markers;
  const title = `${meta.expectation_suite_name}: ${result.success ? 'passed' : 'FAILED'}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>CALI data quality – ${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<h1>CALI data quality <span class="badge ${result.success ? 'pass' : 'fail'}">${result.success ? 'PASSED' : 'FAILED'}</span></h1>
<p class="muted">Suite <b>${escapeHtml(meta.expectation_suite_name)}</b> · window ${escapeHtml(meta.batch_spec.window.from)} – ${escapeHtml(meta.batch_spec.window.to)} · ${statistics.successful_expectations} of ${statistics.evaluated_expectations} expectations passed</p>
<h2>Expectations (failing first)</h2>
<table><thead><tr><th>status</th><th>expectation</th><th>result</th></tr></thead><tbody>${rows}</tbody></table>
${volumeSection(result.results)}
<h2>Batch</h2>
<dl>
<dt>archive</dt><dd><code>${escapeHtml(meta.batch_spec.archive)}</code></dd>
<dt>DLQ</dt><dd><code>${escapeHtml(meta.batch_spec.dlq ?? 'not read')}</code></dd>
<dt>archive objects</dt><dd>${fmt(m.archive_objects)} (${fmt(m.archive_bytes_uncompressed)} bytes of NDJSON)</dd>
<dt>unreadable</dt><dd>${fmt(m.unreadable_lines)} lines, ${fmt(m.unreadable_objects)} objects; DLQ ${fmt(m.dlq_unreadable)}</dd>
<dt>baseline rows</dt><dd>${fmt(m.baseline_rows)}</dd>
<dt>run</dt><dd>${escapeHtml(meta.run_id.run_name)} · ${meta.duration_seconds.toFixed(1)} s · CALI ${escapeHtml(meta.cali_version)}</dd>
</dl>
${m.unreadable_samples.length > 0 ? `<details><summary>unreadable samples</summary><ul>${m.unreadable_samples.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul></details>` : ''}
</body></html>
`;
}
