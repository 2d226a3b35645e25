/**
 * How an object write is retried: bounded attempts with full-jitter
 * exponential backoff (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"), each attempt bounded by a timeout so a hung connection cannot hold
 * an in-flight slot forever. Whether an error is worth retrying is the
 * store's call (ObjectStoreError.retriable); this policy says how often and
 * how long. When it gives up, the sink's write() rejects with a retriable
 * SinkError and the pipeline retries the whole batch, so a long outage
 * stalls the shard instead of dropping records.
 */
import { optionError, positiveInteger, rejectUnknownOptions } from './options.js';

export interface RetryPolicyInput {
  /** Attempts per object, the first included. */
  readonly maxAttempts?: number;
  /** Ceiling of the first backoff; doubles per failed attempt. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** One attempt (one PUT) is aborted after this long and counts as a retriable failure. */
  readonly attemptTimeoutMs?: number;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  attemptTimeoutMs: 30_000,
});

const RETRY_OPTIONS: readonly (keyof RetryPolicyInput)[] = ['maxAttempts', 'initialBackoffMs', 'maxBackoffMs', 'attemptTimeoutMs'];

export function compileRetryPolicy(owner: string, input: RetryPolicyInput = {}): RetryPolicy {
  rejectUnknownOptions(input, RETRY_OPTIONS, `${owner} retry`);
  const option = (name: keyof RetryPolicyInput): number =>
    positiveInteger(`${owner} retry`, name, input[name] ?? DEFAULT_RETRY_POLICY[name], DEFAULT_RETRY_POLICY[name]);
  const policy = {
    maxAttempts: option('maxAttempts'),
    initialBackoffMs: option('initialBackoffMs'),
    maxBackoffMs: option('maxBackoffMs'),
    attemptTimeoutMs: option('attemptTimeoutMs'),
  };
  if (policy.maxBackoffMs < policy.initialBackoffMs) {
    throw optionError(`${owner} retry`, 'maxBackoffMs', `(${policy.maxBackoffMs}) is below initialBackoffMs (${policy.initialBackoffMs})`, 'raise maxBackoffMs or lower initialBackoffMs');
  }
  return Object.freeze(policy);
}

/**
 * The wait after the `failedAttempts`-th failure: uniform in
 * [0, min(maxBackoffMs, initialBackoffMs * 2^(failedAttempts - 1))]. Full
 * jitter spreads the retries of many replicas hitting one throttled prefix.
 */
export function backoffDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 30));
  return Math.floor(random() * ceiling);
}
