/**
 * The typed task/result protocol between the main thread and the worker pool.
 * A batch crosses the thread boundary as ONE packed buffer plus offsets, moved
 * (transferred), never cloned per record; the result's archive lines come back
 * the same way. Positions (sequence numbers) stay on the main thread except as
 * packed ASCII, which the worker needs to write `_cali` into archive lines.
 */
import type { LevelClass } from './fingerprint/fingerprint.js';

export interface WorkerSettings {
  /**
   * Records at or above this level class are fingerprinted and become incident
   * candidates; 'off' fingerprints nothing (archive lines get `"fingerprint":null`),
   * which the pipeline benchmark uses to price the rest of the per-record work.
   */
  readonly fingerprintMinLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'off';
  /** Largest payload a gzip record may inflate to. */
  readonly maxDecodedBytes: number;
}

export interface BatchTask {
  readonly shardId: string;
  readonly count: number;
  /**
   * The one moved buffer: `arrivalMs` and `offsets` (views of it), payloads
   * back to back, then the ASCII sequence numbers back to back; it may be
   * longer than that (a reused buffer), so read it through `offsets` only.
   */
  readonly buffer: ArrayBuffer;
  /** 2 * (count + 1) positions in `buffer`: payload i is [o[i], o[i+1]); sequence number i is [o[count+1+i], o[count+2+i]). */
  readonly offsets: Uint32Array;
  /** ApproximateArrivalTimestamp per record (NaN when unknown). */
  readonly arrivalMs: Float64Array;
  /**
   * A buffer for the archive lines, moved in with the task: an earlier
   * result's, released once nothing read it any more. Used when it is large
   * enough for the batch; otherwise the worker allocates one.
   */
  readonly archiveBuffer?: ArrayBuffer | undefined;
  /**
   * One Int32 on a SharedArrayBuffer that the worker sets to 1 as it starts
   * the batch. A thread holds more than one batch (see WorkerPool) and a
   * thread that dies fails them all: only the one it had started crashed it.
   */
  readonly started?: Int32Array | undefined;
}

/** Why a record (or one of its sub-records) is not valid; the DLQ's reason codes. */
export type InvalidReasonCode =
  | 'empty_payload'
  | 'payload_too_large'
  | 'gzip_corrupt'
  | 'kpl_checksum_mismatch'
  | 'kpl_malformed'
  | 'invalid_utf8'
  | 'not_json_object'
  | 'malformed_json'
  | 'schema_violation'
  | 'worker_crash';

export interface ValidationIssue {
  readonly path: string;
  readonly expected: string;
}

export interface InvalidRecord {
  readonly recordIndex: number;
  readonly subSequenceNumber: number;
  readonly code: InvalidReasonCode;
  readonly message?: string | undefined;
  readonly errors?: readonly ValidationIssue[] | undefined;
}

/** One fingerprint's occurrences within a batch: what alerting needs, pre-aggregated. */
export interface IncidentCandidate {
  readonly fingerprint: string;
  readonly kind: 'stack' | 'message';
  readonly template: string;
  readonly service: string;
  readonly levelClass: LevelClass;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Distinct pods seen, at most MAX_PODS_PER_CANDIDATE. */
  readonly pods: string[];
  /** The first occurrence, for the alert text. */
  readonly sample: {
    readonly message: string;
    readonly exception: string | undefined;
    readonly sequenceNumber: string;
    readonly subSequenceNumber: number;
    /** The exception chain (outermost first) and the frames the fingerprint used, one per line; at most MAX_SAMPLE_FRAME_LINES. */
    readonly frames?: readonly string[] | undefined;
  };
  /** Where the first occurrence ran, for alert rules (labels) and the alert text (image = version). */
  readonly kubernetes?: {
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>> | undefined;
    readonly image?: string | undefined;
  } | undefined;
}

export const MAX_PODS_PER_CANDIDATE = 10;
export const MAX_SAMPLE_FRAME_LINES = 40;

export interface BatchStats {
  records: number;
  subRecords: number;
  valid: number;
  invalid: number;
  fingerprinted: number;
  /** Thread time spent on the batch: the pool's per-batch cost, returned with the result instead of per-record messages. */
  busyMs: number;
}

export interface BatchResult {
  /** Archive NDJSON lines back to back, each ending in `\n` (a view of the start of a possibly longer buffer). */
  readonly archive: Uint8Array;
  readonly archiveLines: number;
  readonly invalid: readonly InvalidRecord[];
  readonly incidents: readonly IncidentCandidate[];
  readonly stats: BatchStats;
  /** From a worker thread: the task's buffer, moved back so that the pool packs a later batch into it. */
  readonly packed?: ArrayBuffer | undefined;
}
