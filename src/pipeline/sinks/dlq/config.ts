/**
 * DLQ sink settings: where (CALI_DLQ_URI) and the batching writer's options.
 * Objects are plain NDJSON by default: invalid records are few, and an
 * operator reads them directly (`aws s3 cp s3://.../x.ndjson - | jq`); set
 * compression "gzip" for a high-volume DLQ.
 */
import { parseDestinationUri, type Destination } from '../object-store/destination.js';
import { checkObjectWriterOptions, compileObjectWriterConfig, type ObjectWriterConfig, type ObjectWriterConfigInput } from '../object-writer-config.js';

export const DLQ_URI_VARIABLE = 'CALI_DLQ_URI';

export interface DlqSinkConfigInput extends ObjectWriterConfigInput {
  /** `s3://bucket/prefix/` or a local directory. */
  readonly uri: string;
}

export interface DlqSinkConfig extends ObjectWriterConfig {
  readonly destination: Destination;
}

export const DLQ_DEFAULTS = Object.freeze({ maxObjectLines: 10_000, compression: 'none' as const });

export function compileDlqSinkConfig(input: DlqSinkConfigInput): DlqSinkConfig {
  const owner = `DLQ sink (${DLQ_URI_VARIABLE})`;
  checkObjectWriterOptions(input, ['uri'], owner);
  const { uri, ...writerOptions } = input;
  return Object.freeze({ destination: parseDestinationUri(uri, DLQ_URI_VARIABLE), ...compileObjectWriterConfig(writerOptions, DLQ_DEFAULTS, owner) });
}
