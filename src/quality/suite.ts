/**
 * Expectation suites: the file format (JSON or YAML, Great Expectations'
 * suite shape: `expectation_suite_name` and a list of `expectation_type` +
 * `kwargs` + optional `meta`), its typia validation, and the checks typia
 * cannot express (regexes compile and are safe, min <= max, column paths).
 * Every error names the field (`expectations[3].kwargs.mostly`) and the fix.
 * docs/quality.md documents each expectation.
 */
import { readFile } from 'node:fs/promises';
import safeRegex from 'safe-regex2';
import typia, { type tags } from 'typia';
import { parse as parseYaml } from 'yaml';
import { CaliError } from '../errors.js';

type Fraction = number & tags.Minimum<0> & tags.Maximum<1>;
type Column = string & tags.MinLength<1> & tags.MaxLength<256>;
type Meta = Record<string, unknown>;

export interface NotNullKwargs {
  column: Column;
  mostly?: Fraction;
}

export interface InSetKwargs {
  column: Column;
  value_set: (string | number | boolean)[] & tags.MinItems<1> & tags.MaxItems<10000>;
  mostly?: Fraction;
}

export interface MatchRegexKwargs {
  column: Column;
  regex: string & tags.MinLength<1> & tags.MaxLength<1024>;
  mostly?: Fraction;
}

export interface BetweenKwargs {
  column: Column;
  min_value?: number | null;
  max_value?: number | null;
  strict_min?: boolean;
  strict_max?: boolean;
  mostly?: Fraction;
}

export interface RowCountKwargs {
  min_value?: (number & tags.Type<'uint64'>) | null;
  max_value?: (number & tags.Type<'uint64'>) | null;
}

export interface FreshnessKwargs {
  /** An ISO-8601 string or epoch-milliseconds column. */
  column: Column;
  max_age_minutes: number & tags.ExclusiveMinimum<0>;
}

export interface VolumeKwargs {
  column: Column;
  /** Windows of the same length just before the validated one, the baseline. */
  previous_windows: number & tags.Type<'uint32'> & tags.Minimum<2> & tags.Maximum<168>;
  k_sigma: number & tags.ExclusiveMinimum<0>;
  /** Values whose baseline mean is below this are not judged (too few records to tell noise from a drop). */
  min_baseline_mean?: number & tags.Minimum<0>;
  /** Distinct values tracked; the rest are counted together as `__other__`. */
  max_values?: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<100000>;
}

export interface DlqRatioKwargs {
  /** Dead letters / (dead letters + archived records) must be at most this. */
  max_ratio: Fraction;
}

export interface PairWithinSecondsKwargs {
  /** ISO-8601 string or epoch-milliseconds columns; A - B is the skew. */
  column_A: Column;
  column_B: Column;
  max_seconds: number & tags.Minimum<0>;
  mostly?: Fraction;
}

export interface CompoundUniqueKwargs {
  column_list: (Column[]) & tags.MinItems<1> & tags.MaxItems<16>;
  mostly?: Fraction;
  /** Keys remembered exactly; beyond it the check samples keys by hash (and says so). */
  max_tracked_keys?: number & tags.Type<'uint32'> & tags.Minimum<1024> & tags.Maximum<67108864>;
}

export type ExpectationConfig =
  | { expectation_type: 'expect_column_values_to_not_be_null'; kwargs: NotNullKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_values_to_be_in_set'; kwargs: InSetKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_values_to_match_regex'; kwargs: MatchRegexKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_values_to_be_between'; kwargs: BetweenKwargs; meta?: Meta }
  | { expectation_type: 'expect_table_row_count_to_be_between'; kwargs: RowCountKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_max_to_be_within_minutes_of_now'; kwargs: FreshnessKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows'; kwargs: VolumeKwargs; meta?: Meta }
  | { expectation_type: 'expect_dlq_ratio_to_be_below'; kwargs: DlqRatioKwargs; meta?: Meta }
  | { expectation_type: 'expect_column_pair_values_to_be_within_seconds'; kwargs: PairWithinSecondsKwargs; meta?: Meta }
  | { expectation_type: 'expect_compound_columns_to_be_unique'; kwargs: CompoundUniqueKwargs; meta?: Meta };

export type ExpectationType = ExpectationConfig['expectation_type'];

export interface ExpectationSuite {
  expectation_suite_name: string & tags.MinLength<1> & tags.MaxLength<256>;
  expectations: ExpectationConfig[] & tags.MinItems<1> & tags.MaxItems<500>;
  meta?: Meta;
}

export const EXPECTATION_TYPES: readonly ExpectationType[] = [
  'expect_column_values_to_not_be_null',
  'expect_column_values_to_be_in_set',
  'expect_column_values_to_match_regex',
  'expect_column_values_to_be_between',
  'expect_table_row_count_to_be_between',
  'expect_column_max_to_be_within_minutes_of_now',
  'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows',
  'expect_dlq_ratio_to_be_below',
  'expect_column_pair_values_to_be_within_seconds',
  'expect_compound_columns_to_be_unique',
];

/** Unknown keys are rejected, not ignored: a misspelt `mostley` must not silently mean "1.0". */
const validateSuite = typia.createValidateEquals<ExpectationSuite>();

/** `$input.expectations[2].kwargs.mostly` -> `expectations[2].kwargs.mostly`. */
const fieldOf = (path: string): string => path.replace(/^\$input\.?/, '') || '(the whole file)';

/** typia's `number & Minimum<0> & Maximum<1>` in words an operator reads. */
export function describeExpected(expected: string): string {
  const words = expected
    .replace(/Type<"uint(32|64)">/g, 'a whole number >= 0')
    .replace(/ExclusiveMinimum<([^>]+)>/g, '> $1')
    .replace(/ExclusiveMaximum<([^>]+)>/g, '< $1')
    .replace(/Minimum<([^>]+)>/g, '>= $1')
    .replace(/Maximum<([^>]+)>/g, '<= $1')
    .replace(/MinLength<([^>]+)>/g, 'at least $1 characters')
    .replace(/MaxLength<([^>]+)>/g, 'at most $1 characters')
    .replace(/MinItems<([^>]+)>/g, 'at least $1 items')
    .replace(/MaxItems<([^>]+)>/g, 'at most $1 items');
  return words.replace(/ & /g, ', ');
}

function fixFor(path: string, expected: string): string {
  if (expected === 'undefined') return 'remove it (unknown field; see docs/quality.md for the kwargs of each expectation)';
  if (/\.expectation_type$/.test(path) || /^\$input\.expectations\[\d+\]$/.test(path)) return `set expectation_type to one of ${EXPECTATION_TYPES.join(', ')}`;
  if (/\.mostly$/.test(path)) return 'use a fraction from 0 to 1 (GE\'s `mostly`: 0.95 means 95% of the non-missing values must pass)';
  return `use ${describeExpected(expected)}`;
}

function suiteError(source: string, field: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `suite ${source}: ${field} ${problem}: ${fix}`);
}

/** Types checked by typia; the semantic checks below say why a value that type-checks still cannot work. */
export function validateExpectationSuite(input: unknown, source: string): ExpectationSuite {
  const checked = validateSuite(input);
  if (!checked.success) {
    const first = checked.errors[0]!;
    const more = checked.errors.length > 1 ? ` (and ${checked.errors.length - 1} more problem${checked.errors.length > 2 ? 's' : ''})` : '';
    throw suiteError(source, fieldOf(first.path), `is invalid (expected ${describeExpected(first.expected)})${more}`, fixFor(first.path, first.expected));
  }
  const suite = checked.data;
  suite.expectations.forEach((expectation, i) => checkExpectation(expectation, `expectations[${i}].kwargs`, source));
  return suite;
}

function checkColumn(column: string, field: string, source: string): void {
  if (column.split('.').some((segment) => segment === '')) {
    throw suiteError(source, field, `is "${column}"`, 'name a field, nested fields joined by "." (e.g. kubernetes.pod_name, _cali.arrivalMs)');
  }
}

function checkRange(min: number | null | undefined, max: number | null | undefined, field: string, source: string): void {
  if (min !== undefined && min !== null && max !== undefined && max !== null && min > max) {
    throw suiteError(source, `${field}.min_value`, `(${min}) is above max_value (${max})`, 'swap them');
  }
}

function checkExpectation(expectation: ExpectationConfig, field: string, source: string): void {
  if ('column' in expectation.kwargs) checkColumn(expectation.kwargs.column, `${field}.column`, source);
  switch (expectation.expectation_type) {
    case 'expect_column_values_to_match_regex': {
      const { regex } = expectation.kwargs;
      try {
        new RegExp(regex, 'u');
      } catch (error) {
        throw suiteError(source, `${field}.regex`, `is not a valid regular expression (${(error as Error).message})`, 'fix the pattern (JavaScript syntax, unicode mode)');
      }
      if (!safeRegex(regex)) throw suiteError(source, `${field}.regex`, 'may backtrack catastrophically (nested quantifiers)', 'rewrite it without a quantifier inside a quantified group');
      return;
    }
    case 'expect_column_values_to_be_between':
    case 'expect_table_row_count_to_be_between': {
      const { min_value, max_value } = expectation.kwargs;
      if ((min_value ?? null) === null && (max_value ?? null) === null) throw suiteError(source, field, 'has neither min_value nor max_value', 'set at least one of them');
      checkRange(min_value, max_value, field, source);
      return;
    }
    case 'expect_column_pair_values_to_be_within_seconds':
      checkColumn(expectation.kwargs.column_A, `${field}.column_A`, source);
      checkColumn(expectation.kwargs.column_B, `${field}.column_B`, source);
      return;
    case 'expect_compound_columns_to_be_unique':
      expectation.kwargs.column_list.forEach((column, i) => checkColumn(column, `${field}.column_list[${i}]`, source));
      return;
    default:
      return;
  }
}

export function parseExpectationSuite(text: string, source: string): ExpectationSuite {
  let input: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    input = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw suiteError(source, '(the whole file)', `is not valid JSON or YAML (${(error as Error).message.split('\n')[0]})`, 'fix the syntax');
  }
  return validateExpectationSuite(input, source);
}

export async function loadExpectationSuite(path: string): Promise<ExpectationSuite> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CaliError('CALI_ERR_CONFIG', `--suite ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give the path of a JSON or YAML suite file`);
  }
  return parseExpectationSuite(text, path);
}

/** Position of a record in the stream: what a duplicate repeats. */
export const POSITION_COLUMNS = ['_cali.shardId', '_cali.sequenceNumber', '_cali.subSequenceNumber'];

/**
 * The default suite for CALI's record schema (src/schema/log-record.ts) and
 * the `_cali` block the workers append. Required fields cannot be null in the
 * archive (validation sent such records to the DLQ), so the null checks watch
 * what Fluent Bit adds on the way: kubernetes metadata and trace ids.
 */
export const DEFAULT_SUITE: ExpectationSuite = {
  expectation_suite_name: 'cali_default',
  meta: { notes: 'CALI default suite for the archive of src/schema/log-record.ts; docs/quality.md' },
  expectations: [
    { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 }, meta: { notes: 'an empty window means the pipeline or every producer stopped' } },
    { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'kubernetes.namespace_name', mostly: 0.99 }, meta: { notes: 'Fluent Bit\'s kubernetes filter failing (API server unreachable) strips the metadata' } },
    { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'kubernetes.pod_name', mostly: 0.99 } },
    { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'message', mostly: 1 } },
    { expectation_type: 'expect_column_values_to_be_in_set', kwargs: { column: 'level', value_set: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'] } },
    { expectation_type: 'expect_column_values_to_match_regex', kwargs: { column: 'service', regex: '^[a-z0-9][a-z0-9.-]{0,127}$' }, meta: { notes: 'Kubernetes-style names; anything else is usually a broken header parser' } },
    { expectation_type: 'expect_column_values_to_be_between', kwargs: { column: '_cali.subSequenceNumber', min_value: 0 } },
    { expectation_type: 'expect_column_max_to_be_within_minutes_of_now', kwargs: { column: 'timestamp', max_age_minutes: 15 } },
    { expectation_type: 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows', kwargs: { column: 'service', previous_windows: 6, k_sigma: 4, min_baseline_mean: 20 } },
    { expectation_type: 'expect_dlq_ratio_to_be_below', kwargs: { max_ratio: 0.05 } },
    { expectation_type: 'expect_column_pair_values_to_be_within_seconds', kwargs: { column_A: '_cali.arrivalMs', column_B: 'timestamp', max_seconds: 300, mostly: 0.99 }, meta: { notes: 'clock skew: arrival in Kinesis minus the event time the application printed' } },
    { expectation_type: 'expect_compound_columns_to_be_unique', kwargs: { column_list: POSITION_COLUMNS, mostly: 0.999 }, meta: { notes: 'at-least-once delivery allows a few duplicates after a crash, not a steady stream' } },
  ],
};
