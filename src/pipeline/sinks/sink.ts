/**
 * The one contract every sink implements (Vector-style: each sink is a folder
 * with the same file roles: config, request building, retry policy, health,
 * sink). A sink acknowledges a write only once it is durable; the pipeline
 * checkpoints a shard's batch only after every REQUIRED sink acked it.
 */

/** Stable failure codes; a sink never throws anything else out of write(). */
export type SinkFailureCode =
  | 'sink_unavailable' // network, 5xx, throttling: retried by the sink's policy first
  | 'sink_rejected' // the destination refused the data (4xx other than throttling): not retriable
  | 'sink_closed'; // write after close()

export class SinkError extends Error {
  constructor(readonly code: SinkFailureCode, readonly sink: string, message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(`${sink}: ${message}`, options);
    this.name = 'SinkError';
  }
}

export interface SinkHealth {
  readonly healthy: boolean;
  /** Why not, for /readyz and /status; no secrets. */
  readonly detail?: string | undefined;
  readonly lastSuccessMs: number | undefined;
  readonly consecutiveFailures: number;
}

export interface Sink<T> {
  readonly name: string;
  /**
   * Adds items to the sink's current batch; resolves when every one of them is
   * durable (its object written), rejects with a SinkError when the sink's
   * retry policy gave up. Items of one call are never split across a failure:
   * either all are acked or the promise rejects.
   */
  write(items: readonly T[]): Promise<void>;
  /** Writes out whatever is batched now (shutdown, handoff). */
  flush(): Promise<void>;
  health(): SinkHealth;
  /** Flushes, then refuses further writes. */
  close(): Promise<void>;
}
