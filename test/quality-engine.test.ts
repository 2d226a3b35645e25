/**
 * The default suite over archives and DLQs written by the consumer's own
 * worker processing and sinks (test/support/quality-archive.ts): clean data
 * passes, and each injected problem is caught by the expectation meant for it
 * and by no other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { validateArchive } from '../src/quality/engine.js';
import type { SuiteValidationResult } from '../src/quality/result.js';
import { DEFAULT_SUITE } from '../src/quality/suite.js';
import { WINDOW_END_MS, WINDOW_START_MS, writeScenario, type ScenarioOptions } from './support/quality-archive.js';

const root = mkdtempSync(join(tmpdir(), 'cali-quality-'));
let scenarios = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(options: ScenarioOptions = {}): Promise<SuiteValidationResult> {
  const dir = join(root, `s${scenarios++}`);
  const archive = new LocalObjectStore(join(dir, 'archive'));
  const dlq = new LocalObjectStore(join(dir, 'dlq'));
  await writeScenario(archive, dlq, options);
  return validateArchive({ archive, dlq }, { suite: DEFAULT_SUITE, window: { fromMs: WINDOW_START_MS, toMs: WINDOW_END_MS }, now: () => WINDOW_END_MS + 60_000 });
}

/** `type(column)` of every failing expectation, sorted. */
function failing(result: SuiteValidationResult): string[] {
  return result.results
    .filter((r) => !r.success)
    .map((r) => {
      const k = r.expectation_config.kwargs as Record<string, unknown>;
      return `${r.expectation_config.expectation_type}(${String(k.column ?? k.column_A ?? k.column_list ?? '')})`;
    })
    .sort();
}

const resultOf = (result: SuiteValidationResult, type: string, column?: string) =>
  result.results.find((r) => r.expectation_config.expectation_type === type && (column === undefined || (r.expectation_config.kwargs as { column?: string }).column === column))!;

describe('cali quality engine, default suite', () => {
  it('passes clean data and reports in Great Expectations\' result shape', async () => {
    const result = await run();
    expect(failing(result)).toEqual([]);
    expect(result.success).toBe(true);
    expect(result.statistics).toEqual({ evaluated_expectations: DEFAULT_SUITE.expectations.length, successful_expectations: DEFAULT_SUITE.expectations.length, unsuccessful_expectations: 0, success_percent: 100 });
    expect(result.meta.expectation_suite_name).toBe('cali_default');
    expect(result.meta.batch_spec.window).toEqual({ from: new Date(WINDOW_START_MS).toISOString(), to: new Date(WINDOW_END_MS).toISOString() });
    const rows = result.meta.batch_markers.archive_rows;
    expect(rows).toBeGreaterThan(1300);
    expect(result.meta.batch_markers.unreadable_lines).toBe(0);
    expect(result.meta.batch_markers.baseline_rows).toBeGreaterThan(6 * 1300);
    const notNull = resultOf(result, 'expect_column_values_to_not_be_null', 'kubernetes.pod_name');
    expect(notNull.result).toMatchObject({ element_count: rows, unexpected_count: 0, unexpected_percent: 0, partial_unexpected_list: [] });
    expect(notNull.exception_info).toEqual({ raised_exception: false, exception_message: null, exception_traceback: null });
    expect(resultOf(result, 'expect_table_row_count_to_be_between').result.observed_value).toBe(rows);
    const dlq = resultOf(result, 'expect_dlq_ratio_to_be_below').result;
    // The simulator's own 1% invalid records.
    expect(dlq.observed_value).toBeGreaterThan(0);
    expect(dlq.observed_value).toBeLessThan(0.03);
    const volume = resultOf(result, 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows').result;
    expect(volume.element_count).toBe(7);
    expect(volume.details?.baseline_windows_used).toBe(6);
  });

  it('catches a service that went silent with the volume expectation only', async () => {
    const result = await run({ current: { mutate: (r) => (r.service === 'payment-service' ? undefined : r) } });
    expect(failing(result)).toEqual(['expect_column_value_counts_to_be_within_k_sigma_of_previous_windows(service)']);
    const volume = resultOf(result, 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows').result;
    expect(volume.partial_unexpected_list).toEqual([expect.objectContaining({ value: 'payment-service', count: 0, direction: 'drop' })]);
  });

  it('catches a burst of records without Kubernetes metadata with the not-null expectations only', async () => {
    const result = await run({ current: { mutate: (r, i) => (i % 4 === 0 ? { ...r, kubernetes: undefined } : r) } });
    expect(failing(result)).toEqual([
      'expect_column_values_to_not_be_null(kubernetes.namespace_name)',
      'expect_column_values_to_not_be_null(kubernetes.pod_name)',
    ]);
    const notNull = resultOf(result, 'expect_column_values_to_not_be_null', 'kubernetes.pod_name').result;
    expect(notNull.unexpected_percent).toBeGreaterThan(20);
    expect(notNull.unexpected_percent).toBeLessThan(30);
    expect(notNull.partial_unexpected_list).toHaveLength(20);
    expect(notNull.partial_unexpected_index_list?.[0]).toMatchObject({ object_key: expect.stringMatching(/\.ndjson\.gz$/), line_number: expect.any(Number), shard_id: expect.stringMatching(/^shardId-/) });
  });

  it('catches a service with a skewed clock with the clock-skew expectation only', async () => {
    const twoHours = 2 * 3_600_000;
    const result = await run({ current: { mutate: (r) => (r.service === 'inventory-service' ? { ...r, timestamp: new Date(Date.parse(r.timestamp) - twoHours).toISOString() } : r) } });
    expect(failing(result)).toEqual(['expect_column_pair_values_to_be_within_seconds(_cali.arrivalMs)']);
    const skew = resultOf(result, 'expect_column_pair_values_to_be_within_seconds').result;
    expect(skew.details?.max_difference_seconds).toBeCloseTo(7200.8, 0);
    expect(skew.unexpected_count).toBeGreaterThan(50);
  });

  it('catches a spike of dead letters with the DLQ-ratio expectation only', async () => {
    const result = await run({ current: { invalid: 300 } });
    expect(failing(result)).toEqual(['expect_dlq_ratio_to_be_below()']);
    const dlq = resultOf(result, 'expect_dlq_ratio_to_be_below').result;
    expect(dlq.observed_value).toBeGreaterThan(0.15);
    expect(Object.keys(dlq.details?.by_reason as object).length).toBeGreaterThanOrEqual(3);
  });

  it('catches records delivered twice with the uniqueness-by-position expectation only', async () => {
    const result = await run({ current: { duplicateFraction: 0.05 } });
    expect(failing(result)).toEqual(['expect_compound_columns_to_be_unique(_cali.shardId,_cali.sequenceNumber,_cali.subSequenceNumber)']);
    const unique = resultOf(result, 'expect_compound_columns_to_be_unique').result;
    expect(unique.unexpected_count).toBe(70);
    expect(unique.partial_unexpected_list?.[0]).toEqual([expect.stringMatching(/^shardId-/), expect.stringMatching(/^\d+$/), 0]);
  });

  it('fails row count and freshness when nothing was archived in the window', async () => {
    const result = await run({ current: { records: 0 } });
    expect(failing(result)).toEqual([
      'expect_column_max_to_be_within_minutes_of_now(timestamp)',
      'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows(service)',
      'expect_table_row_count_to_be_between()',
    ]);
  });
});
