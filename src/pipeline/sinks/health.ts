/**
 * Health of an object-writing sink, from the outcome of each write attempt.
 * One transient failure does not flip /readyz: a sink turns unhealthy when
 * as many attempts in a row failed as one object is allowed, or at once when
 * the destination refused (a non-retriable failure needs an operator).
 */
import type { ObjectStoreError } from './object-store/object-store.js';
import type { SinkHealth } from './sink.js';

export class WriteHealthTracker {
  private consecutiveFailures = 0;
  private lastSuccessMs: number | undefined;
  private lastFailure: ObjectStoreError | undefined;

  constructor(private readonly location: string, private readonly unhealthyAfterFailures: number) {}

  recordSuccess(nowMs: number): void {
    this.consecutiveFailures = 0;
    this.lastFailure = undefined;
    this.lastSuccessMs = nowMs;
  }

  recordFailure(failure: ObjectStoreError): void {
    this.consecutiveFailures++;
    this.lastFailure = failure;
  }

  snapshot(): SinkHealth {
    const failure = this.lastFailure;
    const healthy = failure === undefined || (failure.retriable && this.consecutiveFailures < this.unhealthyAfterFailures);
    return {
      healthy,
      // Store messages carry keys, paths and S3 error text, never credentials.
      detail: failure === undefined ? undefined : `${this.consecutiveFailures} consecutive failed writes to ${this.location}; last: ${failure.reason}: ${failure.message}`,
      lastSuccessMs: this.lastSuccessMs,
      consecutiveFailures: this.consecutiveFailures,
    };
  }
}
