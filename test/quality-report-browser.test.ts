/**
 * The HTML report in a real browser: Debian's headless Chromium (installed by
 * .ci/run, never downloaded) opens the file with networking off and takes a
 * screenshot; the PNG must show a page (not blank) with the red of the failing
 * expectations and the blue of the volume bars. Plus what a browser cannot
 * tell: every value from the logs is escaped.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { validateArchive } from '../src/quality/engine.js';
import { renderHtmlReport } from '../src/quality/html-report.js';
import { DEFAULT_SUITE } from '../src/quality/suite.js';
import { WINDOW_END_MS, WINDOW_START_MS, writeScenario } from './support/quality-archive.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'cali-quality-html-'));

afterAll(() => {
  if (!process.env.CALI_KEEP_REPORT) rmSync(dir, { recursive: true, force: true });
});

function screenshot(htmlFile: string, pngFile: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${join(dir, 'profile')}`,
    '--window-size=1200,1400', `--screenshot=${pngFile}`, pathToFileURL(htmlFile).href,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('the HTML report', () => {
  it('renders in headless Chromium: not blank, failures in red, volume bars', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(true);
    const archive = new LocalObjectStore(join(dir, 'archive'));
    const dlq = new LocalObjectStore(join(dir, 'dlq'));
    await writeScenario(archive, dlq, { current: { mutate: (r) => (r.service === 'search-service' ? undefined : r) } });
    const result = await validateArchive({ archive, dlq }, { suite: DEFAULT_SUITE, window: { fromMs: WINDOW_START_MS, toMs: WINDOW_END_MS }, now: () => WINDOW_END_MS });
    expect(result.success).toBe(false);
    const htmlFile = join(dir, 'report.html');
    writeFileSync(htmlFile, renderHtmlReport(result));
    const pngFile = join(dir, 'report.png');
    const run = await screenshot(htmlFile, pngFile);
    expect(run.code, run.stderr).toBe(0);

    const png = PNG.sync.read(readFileSync(pngFile));
    expect(png.width).toBe(1200);
    let nonWhite = 0;
    let red = 0;
    let blue = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (r < 245 || g < 245 || b < 245) nonWhite++;
      // #d93025 (failing) and #1a73e8 (this window's bars), give or take anti-aliasing.
      if (Math.abs(r - 0xd9) < 12 && Math.abs(g - 0x30) < 12 && Math.abs(b - 0x25) < 12) red++;
      if (Math.abs(r - 0x1a) < 12 && Math.abs(g - 0x73) < 12 && Math.abs(b - 0xe8) < 12) blue++;
    }
    const pixels = png.width * png.height;
    expect(nonWhite / pixels).toBeGreaterThan(0.02);
    expect(red).toBeGreaterThan(200);
    expect(blue).toBeGreaterThan(200);
  }, 120_000);

  it('escapes values from the logs and loads nothing from elsewhere', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const html = renderHtmlReport({
      success: false,
      results: [{
        success: false,
        expectation_config: { expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 'message', regex: '^ok' } },
        result: { element_count: 1, unexpected_count: 1, unexpected_percent: 100, partial_unexpected_list: [hostile], partial_unexpected_index_list: [{ object_key: '"><script>x</script>', line_number: 1 }] },
        meta: {},
        exception_info: { raised_exception: false, exception_message: null, exception_traceback: null },
      }],
      evaluation_parameters: {},
      statistics: { evaluated_expectations: 1, successful_expectations: 0, unsuccessful_expectations: 1, success_percent: 0 },
      meta: {
        expectation_suite_name: '<b>suite</b>',
        run_id: { run_name: 'r', run_time: '2026-01-01T00:00:00.000Z' },
        validation_time: '2026-01-01T00:00:00.000Z',
        cali_version: '0.1.0',
        batch_spec: { archive: '/a', dlq: null, window: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T01:00:00.000Z' }, baseline_window: null },
        batch_markers: { archive_rows: 1, archive_objects: 1, archive_bytes_stored: 1, archive_bytes_uncompressed: 1, unreadable_lines: 0, unreadable_objects: 0, unreadable_samples: [], dlq_objects: 0, dlq_records: null, dlq_unreadable: 0, baseline_rows: 0 },
        duration_seconds: 0.1,
      },
    });
    expect(html).not.toContain(hostile);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script|<b>suite/);
    expect(html).not.toMatch(/(src|href)="?(https?:)?\/\//);
  });
});
