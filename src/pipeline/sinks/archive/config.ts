/**
 * Archive sink settings: where (CALI_ARCHIVE_URI) and the batching writer's
 * options. Objects are gzip-compressed NDJSON by default: the archive is the
 * high-volume sink and log lines compress around 10x.
 */
import { parseDestinationUri, type Destination } from '../object-store/destination.js';
import { checkObjectWriterOptions, compileObjectWriterConfig, type ObjectWriterConfig, type ObjectWriterConfigInput } from '../object-writer-config.js';

export const ARCHIVE_URI_VARIABLE = 'CALI_ARCHIVE_URI';

export interface ArchiveSinkConfigInput extends ObjectWriterConfigInput {
  /** `s3://bucket/prefix/` or a local directory. */
  readonly uri: string;
}

export interface ArchiveSinkConfig extends ObjectWriterConfig {
  readonly destination: Destination;
}

/** Size drives archive objects (8 MiB); the line limit only stops pathological tiny-record floods. */
export const ARCHIVE_DEFAULTS = Object.freeze({ maxObjectLines: 100_000, compression: 'gzip' as const });

export function compileArchiveSinkConfig(input: ArchiveSinkConfigInput): ArchiveSinkConfig {
  const owner = `archive sink (${ARCHIVE_URI_VARIABLE})`;
  checkObjectWriterOptions(input, ['uri'], owner);
  const { uri, ...writerOptions } = input;
  return Object.freeze({ destination: parseDestinationUri(uri, ARCHIVE_URI_VARIABLE), ...compileObjectWriterConfig(writerOptions, ARCHIVE_DEFAULTS, owner) });
}
