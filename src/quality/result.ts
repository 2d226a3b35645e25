/**
 * The validation result, in Great Expectations' shape
 * (ExpectationSuiteValidationResult / ExpectationValidationResult, result
 * format SUMMARY), so that tools that read GE results (Data Docs renderers,
 * dashboards keyed on `success`, `statistics`, `unexpected_percent`) read ours.
 * CALI-specific details sit under `result.details` and `meta`.
 */
import type { ExpectationConfig } from './suite.js';

/** Where an unexpected row is: the archive object and line, and its stream position. */
export interface RowReference {
  readonly object_key: string;
  readonly line_number: number;
  readonly shard_id?: string | undefined;
  readonly sequence_number?: string | undefined;
  readonly sub_sequence_number?: number | undefined;
}

export interface ExpectationResultDetails {
  element_count?: number;
  missing_count?: number;
  missing_percent?: number | null;
  unexpected_count?: number;
  /** GE >= 0.13: unexpected / non-missing, in percent; null when nothing was non-missing. */
  unexpected_percent?: number | null;
  unexpected_percent_total?: number | null;
  unexpected_percent_nonmissing?: number | null;
  partial_unexpected_list?: unknown[];
  partial_unexpected_index_list?: RowReference[];
  observed_value?: unknown;
  details?: Record<string, unknown>;
}

export interface ExceptionInfo {
  raised_exception: boolean;
  exception_message: string | null;
  exception_traceback: string | null;
}

export interface ExpectationValidationResult {
  success: boolean;
  expectation_config: ExpectationConfig;
  result: ExpectationResultDetails;
  meta: Record<string, unknown>;
  exception_info: ExceptionInfo;
}

export interface ValidationStatistics {
  evaluated_expectations: number;
  successful_expectations: number;
  unsuccessful_expectations: number;
  success_percent: number | null;
}

export interface ValidationWindow {
  /** ISO-8601, inclusive. */
  readonly from: string;
  /** ISO-8601, exclusive. */
  readonly to: string;
}

export interface BatchMarkers {
  /** Archive records in the validated window. */
  archive_rows: number;
  archive_objects: number;
  archive_bytes_stored: number;
  /** Uncompressed NDJSON bytes read for the validated window. */
  archive_bytes_uncompressed: number;
  /** Lines that were not archive records (with a sample of where). */
  unreadable_lines: number;
  unreadable_objects: number;
  unreadable_samples: string[];
  dlq_objects: number;
  /** Dead letters in the window; null when the DLQ was not read. */
  dlq_records: number | null;
  dlq_unreadable: number;
  baseline_rows: number;
}

export interface SuiteValidationMeta {
  expectation_suite_name: string;
  run_id: { run_name: string; run_time: string };
  validation_time: string;
  cali_version: string;
  batch_spec: {
    archive: string;
    dlq: string | null;
    window: ValidationWindow;
    /** Object start times read for the volume baseline: [from, window.from). */
    baseline_window: ValidationWindow | null;
  };
  batch_markers: BatchMarkers;
  /** Seconds the validation took, reading included. */
  duration_seconds: number;
}

export interface SuiteValidationResult {
  success: boolean;
  results: ExpectationValidationResult[];
  evaluation_parameters: Record<string, never>;
  statistics: ValidationStatistics;
  meta: SuiteValidationMeta;
}

export const NO_EXCEPTION: ExceptionInfo = Object.freeze({ raised_exception: false, exception_message: null, exception_traceback: null });

export function statisticsOf(results: readonly ExpectationValidationResult[]): ValidationStatistics {
  const successful = results.filter((r) => r.success).length;
  return {
    evaluated_expectations: results.length,
    successful_expectations: successful,
    unsuccessful_expectations: results.length - successful,
    success_percent: results.length === 0 ? null : (100 * successful) / results.length,
  };
}
