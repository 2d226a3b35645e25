/**
 * Fault injection for chaos runs (`npm run chaos`), set through CALI_CHAOS_*
 * variables on `cali run`. Unset in production: without CALI_CHAOS_SEED
 * nothing is injected and no signal handler is installed.
 */
import { CaliError } from '../errors.js';
import type { Env } from './env.js';

export interface ChaosConfig {
  /** Seeds the fault decisions, so a failing run can be replayed. */
  readonly seed: number;
  /** Share of lease-table calls that fail with throttling before they are sent. */
  readonly leaseThrottleRate: number;
  /** Share that fail with a 5xx. */
  readonly leaseServerErrorRate: number;
  /** Share of calls that complete and are then reported as timeouts (the ambiguous write: a conditional check failure on retry). */
  readonly leaseAmbiguousRate: number;
}

function rate(env: Env, variable: string): number {
  const raw = env[variable]?.trim();
  if (!raw) return 0;
  const value = Number(raw);
  if (!(value >= 0 && value <= 0.5)) {
    throw new CaliError('CALI_ERR_CONFIG', `${variable} is "${raw}": set a share between 0 and 0.5 (e.g. 0.05), or unset it`);
  }
  return value;
}

export function loadChaosConfig(env: Env): ChaosConfig | undefined {
  const raw = env.CALI_CHAOS_SEED?.trim();
  if (!raw) return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new CaliError('CALI_ERR_CONFIG', `CALI_CHAOS_SEED is "${raw}": set a whole number >= 0 to enable fault injection, or unset it`);
  }
  const config = {
    seed,
    leaseThrottleRate: rate(env, 'CALI_CHAOS_LEASE_THROTTLE_RATE'),
    leaseServerErrorRate: rate(env, 'CALI_CHAOS_LEASE_SERVER_ERROR_RATE'),
    leaseAmbiguousRate: rate(env, 'CALI_CHAOS_LEASE_AMBIGUOUS_RATE'),
  };
  if (config.leaseThrottleRate + config.leaseServerErrorRate > 0.5) {
    throw new CaliError('CALI_ERR_CONFIG', 'CALI_CHAOS_LEASE_THROTTLE_RATE + CALI_CHAOS_LEASE_SERVER_ERROR_RATE exceed 0.5: lower them so leases can still be renewed');
  }
  return config;
}
