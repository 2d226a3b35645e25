/**
 * The suite file format (JSON and YAML, validated with typia: errors name the
 * field and the fix) and the expectations' Great Expectations semantics on
 * hand-made rows: `mostly`, missing values, percentages, capped examples,
 * the volume baseline, the sampled uniqueness check.
 */
import { describe, expect, it } from 'vitest';
import { createCheck, isBaselineCheck, PARTIAL_LIST_SIZE, type CheckContext, type Row } from '../src/quality/checks.js';
import { topLevelString } from '../src/quality/engine.js';
import type { RowReference } from '../src/quality/result.js';
import { DEFAULT_SUITE, parseExpectationSuite, validateExpectationSuite, type ExpectationConfig } from '../src/quality/suite.js';

const where = (): RowReference => ({ object_key: 'k', line_number: 1 });
const context: CheckContext = { referenceMs: Date.parse('2026-01-01T01:00:00Z'), rows: 0, deadLetters: 0, deadLettersByReason: {}, baselineRows: [] };

function evaluate(config: ExpectationConfig, rows: readonly Row[], ctx: Partial<CheckContext> = {}) {
  const check = createCheck(config);
  for (const row of rows) check.observe(row, where);
  return check.finish({ ...context, rows: rows.length, ...ctx });
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect((error as { code?: string }).code).toBe('CALI_ERR_CONFIG');
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('suite files', () => {
  it('reads a YAML suite and a JSON suite of the same shape', () => {
    const yaml = `
expectation_suite_name: shop
expectations:
  - expectation_type: expect_column_values_to_not_be_null
    kwargs: { column: trace_id, mostly: 0.9 }
    meta: { notes: traces come from the gateway }
  - expectation_type: expect_dlq_ratio_to_be_below
    kwargs: { max_ratio: 0.01 }
`;
    const fromYaml = parseExpectationSuite(yaml, 'shop.yaml');
    expect(fromYaml.expectations).toHaveLength(2);
    expect(parseExpectationSuite(JSON.stringify(fromYaml), 'shop.json')).toEqual(fromYaml);
  });

  it('accepts the default suite', () => {
    expect(validateExpectationSuite(structuredClone(DEFAULT_SUITE), 'default')).toEqual(DEFAULT_SUITE);
  });

  it('names the field and the fix for a misspelt kwarg, a bad fraction, an unknown type', () => {
    const base = { expectation_suite_name: 's', expectations: [{ expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'service' } }] };
    const typo = structuredClone(base) as { expectations: { kwargs: Record<string, unknown> }[] };
    typo.expectations[0]!.kwargs.mostley = 0.5;
    expect(configError(() => validateExpectationSuite(typo, 'a.yaml'))).toMatch(/^suite a\.yaml: expectations\[0\]\.kwargs\.mostley .*remove it \(unknown field/);
    const fraction = structuredClone(base) as { expectations: { kwargs: Record<string, unknown> }[] };
    fraction.expectations[0]!.kwargs.mostly = 95;
    expect(configError(() => validateExpectationSuite(fraction, 'a.yaml'))).toMatch(/expectations\[0\]\.kwargs\.mostly .*use a fraction from 0 to 1/);
    const unknownType = { expectation_suite_name: 's', expectations: [{ expectation_type: 'expect_column_to_exist', kwargs: { column: 'x' } }] };
    expect(configError(() => validateExpectationSuite(unknownType, 'a.yaml'))).toMatch(/expectations\[0\].*expect_column_values_to_not_be_null/);
  });

  it('rejects what type-checks but cannot work: a broken or unsafe regex, min above max, an empty path segment', () => {
    const suite = (expectation: unknown) => ({ expectation_suite_name: 's', expectations: [expectation] });
    expect(configError(() => validateExpectationSuite(suite({ expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 'service', regex: '(' } }), 'f'))).toMatch(/expectations\[0\]\.kwargs\.regex is not a valid regular expression/);
    expect(configError(() => validateExpectationSuite(suite({ expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 'service', regex: '(a+)+$' } }), 'f'))).toMatch(/kwargs\.regex may backtrack catastrophically/);
    expect(configError(() => validateExpectationSuite(suite({ expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 10, max_value: 1 } }), 'f'))).toMatch(/kwargs\.min_value \(10\) is above max_value \(1\): swap them/);
    expect(configError(() => validateExpectationSuite(suite({ expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'kubernetes..pod' } }), 'f'))).toMatch(/kwargs\.column is "kubernetes\.\.pod"/);
  });

  it('reports unparseable files without echoing them', () => {
    expect(configError(() => parseExpectationSuite('expectations: [', 'bad.yaml'))).toMatch(/^suite bad\.yaml: \(the whole file\) is not valid JSON or YAML/);
  });
});

describe('expectation semantics (Great Expectations)', () => {
  it('not_null counts missing values as unexpected and honours mostly', () => {
    const rows: Row[] = [{ a: 1 }, { a: null }, {}, { a: 'x' }];
    const strict = evaluate({ expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'a' } }, rows);
    expect(strict).toEqual({ success: false, result: expect.objectContaining({ element_count: 4, unexpected_count: 2, unexpected_percent: 50, partial_unexpected_list: [null, null] }) });
    expect(evaluate({ expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'a', mostly: 0.5 } }, rows).success).toBe(true);
  });

  it('other column-map expectations ignore missing values: unexpected_percent is of the non-missing ones', () => {
    const rows: Row[] = [{ level: 'INFO' }, { level: 'info' }, { level: null }, {}];
    const outcome = evaluate({ expectation_type: 'expect_column_values_to_be_in_set', kwargs: { column: 'level', value_set: ['INFO'], mostly: 0.5 } }, rows);
    expect(outcome.success).toBe(true);
    expect(outcome.result).toMatchObject({ element_count: 4, missing_count: 2, missing_percent: 50, unexpected_count: 1, unexpected_percent: 50, unexpected_percent_total: 25, unexpected_percent_nonmissing: 50, partial_unexpected_list: ['info'] });
    // Nothing non-missing: vacuously true, as in GE.
    expect(evaluate({ expectation_type: 'expect_column_values_to_be_in_set', kwargs: { column: 'level', value_set: ['INFO'] } }, [{}, {}]).result.unexpected_percent).toBeNull();
  });

  it('regex uses search semantics; between honours strictness and rejects non-numbers; nested columns resolve', () => {
    const regex = evaluate({ expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 'kubernetes.pod_name', regex: 'api-' } }, [{ kubernetes: { pod_name: 'x-api-1' } }, { kubernetes: { pod_name: 'worker' } }, { kubernetes: { pod_name: 7 } }]);
    expect(regex.result.partial_unexpected_list).toEqual(['worker', 7]);
    const between = evaluate({ expectation_type: 'expect_column_values_to_be_between', kwargs: { column: 'n', min_value: 0, max_value: 10, strict_max: true } }, [{ n: 0 }, { n: 10 }, { n: '5' }, { n: 9.5 }]);
    expect(between.result.partial_unexpected_list).toEqual([10, '5']);
  });

  it('keeps at most 20 examples, cut to 200 characters', () => {
    const rows: Row[] = Array.from({ length: 100 }, (_, i) => ({ s: `${i}`.padEnd(500, 'x') }));
    const outcome = evaluate({ expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 's', regex: '^y' } }, rows);
    expect(outcome.result.unexpected_count).toBe(100);
    expect(outcome.result.partial_unexpected_list).toHaveLength(PARTIAL_LIST_SIZE);
    expect((outcome.result.partial_unexpected_list![0] as string).length).toBe(201);
  });

  it('clock skew compares ISO strings and epoch ms both ways', () => {
    const rows: Row[] = [
      { t: '2026-01-01T00:00:00Z', a: Date.parse('2026-01-01T00:00:01Z') },
      { t: '2026-01-01T00:00:00Z', a: Date.parse('2026-01-01T00:10:00Z') },
      { t: '2026-01-01T00:10:00Z', a: Date.parse('2026-01-01T00:00:00Z') },
      { t: 'not a time', a: 1 },
    ];
    const outcome = evaluate({ expectation_type: 'expect_column_pair_values_to_be_within_seconds', kwargs: { column_A: 'a', column_B: 't', max_seconds: 60 } }, rows);
    expect(outcome.result.unexpected_count).toBe(3);
    expect(outcome.result.details).toMatchObject({ max_difference_seconds: 600, min_difference_seconds: -600 });
  });

  it('freshness is measured from the reference time; no rows is not fresh', () => {
    const config: ExpectationConfig = { expectation_type: 'expect_column_max_to_be_within_minutes_of_now', kwargs: { column: 'timestamp', max_age_minutes: 15 } };
    expect(evaluate(config, [{ timestamp: '2026-01-01T00:50:00Z' }]).success).toBe(true);
    expect(evaluate(config, [{ timestamp: '2026-01-01T00:40:00Z' }]).result.details).toMatchObject({ age_minutes: 20 });
    expect(evaluate(config, []).success).toBe(false);
  });

  it('volume: drops and spikes beyond k sigma of the previous windows, Poisson floor, empty windows left out', () => {
    const config: ExpectationConfig = { expectation_type: 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows', kwargs: { column: 'service', previous_windows: 4, k_sigma: 3, min_baseline_mean: 5 } };
    const check = createCheck(config);
    if (!isBaselineCheck(check)) throw new Error('volume is a baseline check');
    const add = (service: string, n: number, window: number) => {
      for (let i = 0; i < n; i++) {
        if (window === 0) check.observe({ service }, where);
        else check.observeBaseline({ service }, window);
      }
    };
    // Window 4 is empty (the archive starts later): left out, not a zero.
    for (const w of [1, 2, 3]) {
      add('steady', 100, w);
      add('dropped', 100, w);
      add('spiking', 50, w);
      add('tiny', 2, w);
    }
    add('steady', 104, 0);
    add('dropped', 10, 0);
    add('spiking', 200, 0);
    const outcome = check.finish({ ...context, baselineRows: [252, 252, 252, 0] });
    expect(outcome.success).toBe(false);
    expect(outcome.result.partial_unexpected_list).toEqual([
      expect.objectContaining({ value: 'spiking', direction: 'spike' }),
      expect.objectContaining({ value: 'dropped', direction: 'drop', count: 10 }),
    ]);
    expect(outcome.result.element_count).toBe(3);
    expect(outcome.result.details?.baseline_windows_used).toBe(3);
  });

  it('uniqueness is exact while the keys fit, and estimates from a hash sample beyond', () => {
    const rows: Row[] = [];
    for (let i = 0; i < 20_000; i++) rows.push({ p: { s: 'shard-1', n: String(i) } });
    for (let i = 0; i < 20_000; i += 10) rows.push({ p: { s: 'shard-1', n: String(i) } });
    const config = (max?: number): ExpectationConfig => ({ expectation_type: 'expect_compound_columns_to_be_unique', kwargs: { column_list: ['p.s', 'p.n'], ...(max === undefined ? {} : { max_tracked_keys: max }) } });
    const exact = evaluate(config(), rows);
    expect(exact.result.unexpected_count).toBe(2000);
    expect(exact.result.details).toMatchObject({ sampled: false });
    const sampled = evaluate(config(2048), rows);
    expect(sampled.result.details).toMatchObject({ sampled: true });
    expect((sampled.result.details as { tracked_keys: number }).tracked_keys).toBeLessThanOrEqual(2048);
    expect(sampled.result.unexpected_count).toBeGreaterThan(1400);
    expect(sampled.result.unexpected_count).toBeLessThan(2600);
  });

  it('DLQ ratio: dead letters over everything, with reasons; without a DLQ it is an exception, not a pass', () => {
    const config: ExpectationConfig = { expectation_type: 'expect_dlq_ratio_to_be_below', kwargs: { max_ratio: 0.1 } };
    const outcome = evaluate(config, [], { rows: 80, deadLetters: 20, deadLettersByReason: { schema_violation: 20 } });
    expect(outcome).toEqual({ success: false, result: expect.objectContaining({ observed_value: 0.2, element_count: 100, unexpected_count: 20 }) });
    expect(() => evaluate(config, [], { deadLetters: undefined })).toThrow(/CALI_DLQ_URI/);
  });
});

describe('baseline fast path', () => {
  it('reads a top-level string field from the bytes only when that is certainly right', () => {
    expect(topLevelString(Buffer.from('{"timestamp":"t","service":"payment-service","kubernetes":{"labels":{"service":"x"}}}'), 'service')).toBe('payment-service');
    // A nested object or array first, an escaped value, other formatting: parse instead.
    expect(topLevelString(Buffer.from('{"kubernetes":{"labels":{"service":"x"}},"service":"payment-service"}'), 'service')).toBeUndefined();
    expect(topLevelString(Buffer.from('{"tags":["a"],"service":"payment-service"}'), 'service')).toBeUndefined();
    expect(topLevelString(Buffer.from('{"service":"pay\\"ment"}'), 'service')).toBeUndefined();
    expect(topLevelString(Buffer.from('{"service": "payment-service"}'), 'service')).toBeUndefined();
    // The marker inside a string value is escaped, so it is never taken for the key.
    expect(topLevelString(Buffer.from('{"message":"say \\"service\\":\\"fake\\"","service":"real"}'), 'service')).toBe('real');
  });
});
