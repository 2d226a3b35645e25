/**
 * Request building for the OpenSearch sink: archive lines -> bulk items, and
 * the index templates and ISM policy installed at start-up.
 *
 * A document is the archive line as the worker wrote it (the record plus
 * `_cali`) with `@timestamp` put first; only the `_cali` tail is parsed, for
 * the position and time. Its id is derived from (shard, sequence number,
 * sub-sequence number) and its index from the event's own day (UTC), so a
 * replay or a re-read after a crash overwrites the same document instead of
 * adding one. (A rollover alias would send a replay to whichever index is
 * current and duplicate it; daily indices keep ids unique per index.)
 */
import type { OpenSearchSinkConfig } from './config.js';

export interface BulkItem {
  readonly index: string;
  readonly id: string;
  /** The action line and the document line, each ending in "\n". */
  readonly body: string;
  /** Size for batching: UTF-16 length (equal to the UTF-8 size for ASCII logs; the exact size is counted per request). */
  readonly bytes: number;
  /** The document as indexed, for the DLQ if the cluster refuses it. */
  readonly source: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
}

interface CaliTail {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly timestampMs?: number | null;
  readonly arrivalMs?: number | null;
}

const TAIL_KEY = ',"_cali":';

/**
 * The position itself, readable (an operator can go from a document to the
 * Kinesis record and back) and the same on every replica and replay. Shard
 * ids and sequence numbers are [A-Za-z0-9-]: URL-safe as they are. Cheaper
 * than a hash, which cost more than the rest of building an item.
 */
export function documentId(shardId: string, sequenceNumber: string, subSequenceNumber: number): string {
  return `${shardId}-${sequenceNumber}-${subSequenceNumber}`;
}

/** `<prefix>-YYYY.MM.DD` from an ISO-8601 UTC time. */
function dailyIndexOf(prefix: string, iso: string): string {
  return `${prefix}-${iso.slice(0, 4)}.${iso.slice(5, 7)}.${iso.slice(8, 10)}`;
}

export function dailyIndex(prefix: string, timestampMs: number): string {
  return dailyIndexOf(prefix, new Date(timestampMs).toISOString());
}

/** One archive line (without its "\n") -> a bulk item; undefined when the line has no readable `_cali` (a bug upstream). */
export function bulkItemOf(line: string, prefix: string, fallbackNowMs: number): BulkItem | undefined {
  const at = line.lastIndexOf(TAIL_KEY);
  if (at < 0 || !line.startsWith('{')) return undefined;
  let tail: CaliTail;
  try {
    tail = JSON.parse(line.slice(at + TAIL_KEY.length, line.length - 1)) as CaliTail;
  } catch {
    return undefined;
  }
  if (typeof tail.shardId !== 'string' || typeof tail.sequenceNumber !== 'string' || typeof tail.subSequenceNumber !== 'number') return undefined;
  const timestampMs = typeof tail.timestampMs === 'number' && Number.isFinite(tail.timestampMs) ? tail.timestampMs
    : typeof tail.arrivalMs === 'number' && Number.isFinite(tail.arrivalMs) ? tail.arrivalMs : fallbackNowMs;
  const iso = new Date(timestampMs).toISOString();
  const index = dailyIndexOf(prefix, iso);
  const id = documentId(tail.shardId, tail.sequenceNumber, tail.subSequenceNumber);
  const source = `{"@timestamp":"${iso}",${line.slice(1)}`;
  const body = `{"index":{"_index":"${index}","_id":"${id}"}}\n${source}\n`;
  return {
    index, id, body, bytes: body.length, source,
    shardId: tail.shardId, sequenceNumber: tail.sequenceNumber, subSequenceNumber: tail.subSequenceNumber,
  };
}

const decoder = new TextDecoder();

/** Splits archive chunks into lines; each chunk is whole lines ending in "\n". */
export function* linesOf(chunks: readonly { readonly bytes: Uint8Array }[]): Generator<string> {
  for (const chunk of chunks) {
    const text = decoder.decode(chunk.bytes);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      if (end > start) yield text.slice(start, end);
      start = end + 1;
    }
    if (start < text.length) yield text.slice(start);
  }
}

export function logsTemplateName(config: OpenSearchSinkConfig): string {
  return `${config.indexPrefix}-template`;
}

export function ismPolicyId(config: OpenSearchSinkConfig): string {
  return `${config.indexPrefix}-retention`;
}

const keyword = { type: 'keyword', ignore_above: 1024 };

/**
 * Log indices: identifiers and enumerations are keywords (exact filters,
 * aggregations: counts by service and level), free text is text
 * (`message`, `log_content`: full-text search; `message` also as a keyword
 * for top-N templates), `@timestamp` a date. Unknown fields stay searchable
 * as keywords instead of growing the mapping with text fields.
 */
export function logsIndexTemplate(config: OpenSearchSinkConfig): Record<string, unknown> {
  return {
    index_patterns: [`${config.indexPrefix}-*`],
    priority: 100,
    template: {
      settings: {
        number_of_shards: config.shards,
        number_of_replicas: config.replicas,
        'index.refresh_interval': '5s',
      },
      mappings: {
        dynamic_templates: [{ strings_as_keywords: { match_mapping_type: 'string', mapping: keyword } }],
        properties: {
          '@timestamp': { type: 'date' },
          timestamp: { type: 'date' },
          level: { type: 'keyword' },
          service: { type: 'keyword' },
          message: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 512 } } },
          log_content: { type: 'text' },
          logger: { type: 'keyword' },
          thread: { type: 'keyword' },
          trace_id: { type: 'keyword' },
          span_id: { type: 'keyword' },
          request_id: { type: 'keyword' },
          kubernetes: {
            properties: {
              namespace_name: { type: 'keyword' }, pod_name: { type: 'keyword' }, container_name: { type: 'keyword' },
              pod_id: { type: 'keyword' }, host: { type: 'keyword' }, container_image: { type: 'keyword' },
              labels: { type: 'flattened' }, annotations: { type: 'flattened' },
            },
          },
          _cali: {
            properties: {
              shardId: { type: 'keyword' }, sequenceNumber: { type: 'keyword' }, subSequenceNumber: { type: 'long' },
              fingerprint: { type: 'keyword' }, arrivalMs: { type: 'date', format: 'epoch_millis' },
              timestampMs: { type: 'date', format: 'epoch_millis' }, level: { type: 'keyword' },
            },
          },
        },
      },
    },
    _meta: { managed_by: 'cali' },
  };
}

/** Incidents: one document per alert window, the analysis added to it when it arrives. */
export function incidentsIndexTemplate(config: OpenSearchSinkConfig): Record<string, unknown> {
  return {
    index_patterns: [config.incidentsIndex],
    priority: 100,
    template: {
      settings: { number_of_shards: 1, number_of_replicas: config.replicas },
      mappings: {
        dynamic_templates: [{ strings_as_keywords: { match_mapping_type: 'string', mapping: keyword } }],
        properties: {
          '@timestamp': { type: 'date' },
          fingerprint: { type: 'keyword' }, service: { type: 'keyword' }, severity: { type: 'keyword' },
          ruleId: { type: 'keyword' }, kind: { type: 'keyword' }, levelClass: { type: 'keyword' },
          template: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 1024 } } },
          message: { type: 'text' }, exception: { type: 'text' },
          count: { type: 'long' }, pods: { type: 'keyword' },
          firstSeen: { type: 'date' }, lastSeen: { type: 'date' },
          analysis: {
            properties: {
              analyzer: { type: 'keyword' }, likelyCause: { type: 'text' }, remediation: { type: 'text' },
              confidence: { type: 'keyword' }, similarFingerprints: { type: 'keyword' }, runbooks: { type: 'keyword' },
              analyzedAt: { type: 'date' },
            },
          },
        },
      },
    },
    _meta: { managed_by: 'cali' },
  };
}

/** Daily log indices are deleted retentionDays after creation; the policy attaches itself to new indices of the prefix. */
export function ismPolicy(config: OpenSearchSinkConfig): Record<string, unknown> {
  return {
    policy: {
      description: `CALI log indices ${config.indexPrefix}-*: kept ${config.retentionDays} days, then deleted`,
      default_state: 'hot',
      states: [
        { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: `${config.retentionDays}d` } }] },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [`${config.indexPrefix}-*`], priority: 100 }],
    },
  };
}
