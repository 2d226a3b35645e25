/**
 * Health of the OpenSearch sink from its bulk requests: unhealthy after as
 * many failed requests in a row as one request may be attempted, or at once
 * when the cluster refused a request for good (credentials, permissions).
 * Refused documents (mapping errors) do not make it unhealthy: they are
 * dead-lettered and visible in cali_dlq_records_total.
 */
import type { SinkHealth } from '../sink.js';

export class BulkHealthTracker {
  private consecutiveFailures = 0;
  private lastSuccessMs: number | undefined;
  private lastFailure: { reason: string; retriable: boolean } | undefined;

  constructor(private readonly location: string, private readonly unhealthyAfterFailures: number) {}

  recordSuccess(nowMs: number): void {
    this.consecutiveFailures = 0;
    this.lastFailure = undefined;
    this.lastSuccessMs = nowMs;
  }

  recordFailure(reason: string, retriable: boolean): void {
    this.consecutiveFailures++;
    this.lastFailure = { reason, retriable };
  }

  snapshot(): SinkHealth {
    const failure = this.lastFailure;
    return {
      healthy: failure === undefined || (failure.retriable && this.consecutiveFailures < this.unhealthyAfterFailures),
      detail: failure === undefined ? undefined : `${this.consecutiveFailures} consecutive failed bulk requests to ${this.location}; last: ${failure.reason}`,
      lastSuccessMs: this.lastSuccessMs,
      consecutiveFailures: this.consecutiveFailures,
    };
  }
}
