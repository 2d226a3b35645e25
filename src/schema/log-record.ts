/**
 * The log record as our Fluent Bit configuration ships it to Kinesis
 * (fluent-bit/fluent-bit.yaml). This is the one definition of the record: the
 * simulator produces it, the worker validators are compiled from it, and the
 * sinks write it. Field names follow Fluent Bit's output (snake_case, the
 * kubernetes filter's own names), not our code style, so that an operator can
 * match a record in S3 or OpenSearch to this file by eye.
 */
import type { tags } from 'typia';

/** Levels as applications print them; Python's WARNING/CRITICAL are kept as printed. */
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'WARNING' | 'ERROR' | 'CRITICAL' | 'FATAL';

export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'];

/** Metadata added by Fluent Bit's kubernetes filter (a subset; extra keys are allowed). */
export interface KubernetesMetadata {
  namespace_name: string & tags.MinLength<1> & tags.MaxLength<253>;
  pod_name: string & tags.MinLength<1> & tags.MaxLength<253>;
  container_name: string & tags.MinLength<1> & tags.MaxLength<253>;
  pod_id?: string;
  host?: string;
  container_image?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Upper bound of `log_content`: a joined stack trace longer than this is not a log line. */
export const MAX_LOG_CONTENT_BYTES = 256 * 1024;

export interface LogRecord {
  /** Event time from the application's header, ISO-8601 (Fluent Bit `Time_Key` kept). */
  timestamp: string & tags.Format<'date-time'>;
  level: LogLevel;
  service: string & tags.MinLength<1> & tags.MaxLength<128>;
  /** First line of the event after the header: the human message. */
  message: string & tags.MaxLength<16384>;
  /** The whole raw event as the application printed it, header and stack trace included. */
  log_content: string & tags.MinLength<1> & tags.MaxLength<262144>;
  logger?: string & tags.MaxLength<512>;
  thread?: string & tags.MaxLength<256>;
  trace_id?: string & tags.MaxLength<128>;
  span_id?: string & tags.MaxLength<128>;
  request_id?: string & tags.MaxLength<128>;
  kubernetes?: KubernetesMetadata;
}
