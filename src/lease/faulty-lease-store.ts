/**
 * Fault injection for the lease store, for tests and chaos runs, at two levels:
 *
 * - FaultInjectingLeaseStore wraps any LeaseStore and fails calls the way the
 *   real table does (throttling, 5xx, outages, slowness), including the case
 *   that matters most for fencing: the ambiguous write, which happened although
 *   its caller saw a timeout.
 * - injectDynamoDbFaults makes a real DynamoDBClient fail requests before they
 *   are sent, inside the SDK's retry loop, so what is tested is the SDK's
 *   retries plus DynamoDbLeaseStore's error mapping.
 *
 * Decisions come from a seeded PRNG: the same seed and the same sequence of
 * calls give the same faults, so a failing chaos run can be replayed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Lease } from './lease.js';
import { LeaseStoreError, type CheckpointUpdate, type LeaseListing, type LeaseStore } from './lease-store.js';

/** mulberry32: small and fast, with a period far beyond any test's number of calls. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function assertRate(owner: string, name: string, rate: number): void {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${owner}: ${name} must be within [0, 1], got ${rate}`);
}

/** Throttles and server errors are drawn from one roll, so together they cannot exceed certainty. */
function assertErrorRates(owner: string, throttleRate: number, serverErrorRate: number): void {
  assertRate(owner, 'throttleRate', throttleRate);
  assertRate(owner, 'serverErrorRate', serverErrorRate);
  if (throttleRate + serverErrorRate > 1) {
    throw new RangeError(`${owner}: throttleRate + serverErrorRate must not exceed 1, got ${throttleRate + serverErrorRate}`);
  }
}

/* ------------------------------------------------------------------------ */
/* Store wrapper                                                             */
/* ------------------------------------------------------------------------ */

export type LeaseStoreOperation = keyof LeaseStore;

export interface OperationFaults {
  /** Probability that a call fails with throttling before it reaches the store. */
  throttleRate?: number;
  /** Probability that a call fails with a 5xx before it reaches the store. */
  serverErrorRate?: number;
  /**
   * Probability that a call reaches the store and completes, and then the
   * caller gets a timeout anyway: for a write, one that happened although it
   * looks failed.
   */
  ambiguousRate?: number;
  /** Probability of extra latency before the call reaches the store. */
  latencyRate?: number;
  /** [min, max] of that latency in ms, drawn uniformly. */
  latencyMs?: readonly [number, number];
}

export interface FaultInjectionOptions {
  /** The same seed and sequence of calls give the same faults. */
  seed: number;
  /** Faults of every operation not listed in `operations`; none when unset. */
  faults?: OperationFaults;
  /** Per-operation faults, replacing `faults` for that operation. */
  operations?: Partial<Record<LeaseStoreOperation, OperationFaults>>;
}

export interface InjectedFaultCounts {
  /** Every call to the wrapper, faulted or not. */
  calls: number;
  throttles: number;
  serverErrors: number;
  /** Calls that reached the store, completed, and were reported as timeouts. */
  ambiguous: number;
  delays: number;
  /** Calls failed by the outage switch. */
  outages: number;
}

type CompiledFaults = Required<OperationFaults>;

const NO_FAULTS: CompiledFaults = {
  throttleRate: 0,
  serverErrorRate: 0,
  ambiguousRate: 0,
  latencyRate: 0,
  latencyMs: [0, 0],
};

const WRAPPER = 'FaultInjectingLeaseStore';

function compileFaults(faults: OperationFaults | undefined, label: string): CompiledFaults {
  const compiled: CompiledFaults = { ...NO_FAULTS, ...faults };
  const owner = `${WRAPPER} (${label})`;
  assertErrorRates(owner, compiled.throttleRate, compiled.serverErrorRate);
  assertRate(owner, 'ambiguousRate', compiled.ambiguousRate);
  assertRate(owner, 'latencyRate', compiled.latencyRate);
  const [min, max] = compiled.latencyMs;
  if (!(min >= 0 && max >= min && Number.isFinite(max))) {
    throw new RangeError(`${owner}: latencyMs must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
  }
  return compiled;
}

/** Looks like what DynamoDbLeaseStore throws for the same failure, with an SDK-shaped cause. */
function injectedError(
  operation: LeaseStoreOperation,
  leaseKey: string | undefined,
  cause: { name: string; message: string; httpStatusCode?: number },
): LeaseStoreError {
  const target = `${operation}${leaseKey === undefined ? '' : `(${leaseKey})`}`;
  const sdkError = Object.assign(new Error(cause.message), {
    name: cause.name,
    $metadata: cause.httpStatusCode === undefined ? {} : { httpStatusCode: cause.httpStatusCode },
  });
  return new LeaseStoreError(`${target} failed: ${cause.name}: ${cause.message} (injected fault)`, true, {
    cause: sdkError,
  });
}

export class FaultInjectingLeaseStore implements LeaseStore {
  private readonly random: () => number;
  private defaultFaults: CompiledFaults = NO_FAULTS;
  private operationFaults = new Map<LeaseStoreOperation, CompiledFaults>();
  private outage = false;
  private readonly counts: InjectedFaultCounts = {
    calls: 0,
    throttles: 0,
    serverErrors: 0,
    ambiguous: 0,
    delays: 0,
    outages: 0,
  };

  constructor(
    readonly inner: LeaseStore,
    options: FaultInjectionOptions,
  ) {
    this.random = seededRandom(options.seed);
    this.configure(options);
  }

  /** Replaces every fault setting (e.g. a chaos test ending its storm); the PRNG sequence continues. */
  configure(options: Omit<FaultInjectionOptions, 'seed'>): void {
    const defaultFaults = compileFaults(options.faults, 'faults');
    const operationFaults = new Map<LeaseStoreOperation, CompiledFaults>();
    for (const [operation, faults] of Object.entries(options.operations ?? {}) as [LeaseStoreOperation, OperationFaults][]) {
      operationFaults.set(operation, compileFaults(faults, operation));
    }
    this.defaultFaults = defaultFaults;
    this.operationFaults = operationFaults;
  }

  /** While down, every call fails (503) without reaching the store. */
  setOutage(down: boolean): void {
    this.outage = down;
  }

  /** A snapshot of what was injected so far. */
  get injected(): Readonly<InjectedFaultCounts> {
    return { ...this.counts };
  }

  ensureTable(): Promise<void> {
    return this.run('ensureTable', undefined, () => this.inner.ensureTable());
  }

  listLeases(): Promise<LeaseListing> {
    return this.run('listLeases', undefined, () => this.inner.listLeases());
  }

  getLease(leaseKey: string): Promise<Lease | undefined> {
    return this.run('getLease', leaseKey, () => this.inner.getLease(leaseKey));
  }

  createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    return this.run('createLeaseIfNotExists', lease.leaseKey, () => this.inner.createLeaseIfNotExists(lease));
  }

  renewLease(lease: Lease): Promise<Lease | undefined> {
    return this.run('renewLease', lease.leaseKey, () => this.inner.renewLease(lease));
  }

  takeLease(lease: Lease, newOwner: string): Promise<Lease | undefined> {
    return this.run('takeLease', lease.leaseKey, () => this.inner.takeLease(lease, newOwner));
  }

  requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    return this.run('requestHandoff', lease.leaseKey, () => this.inner.requestHandoff(lease, requester));
  }

  releaseLease(lease: Lease): Promise<Lease | undefined> {
    return this.run('releaseLease', lease.leaseKey, () => this.inner.releaseLease(lease));
  }

  updateCheckpoint(lease: Lease, update: CheckpointUpdate): Promise<Lease | undefined> {
    return this.run('updateCheckpoint', lease.leaseKey, () => this.inner.updateCheckpoint(lease, update));
  }

  deleteLease(lease: Lease): Promise<boolean> {
    return this.run('deleteLease', lease.leaseKey, () => this.inner.deleteLease(lease));
  }

  private async run<T>(operation: LeaseStoreOperation, leaseKey: string | undefined, call: () => Promise<T>): Promise<T> {
    const faults = this.operationFaults.get(operation) ?? this.defaultFaults;
    // Four draws on every call, used or not: the sequence of decisions depends
    // only on the seed and the calls, not on which faults are configured.
    const errorRoll = this.random();
    const latencyRoll = this.random();
    const latencyFraction = this.random();
    const ambiguousRoll = this.random();
    this.counts.calls++;

    if (this.outage) {
      this.counts.outages++;
      throw injectedError(operation, leaseKey, {
        name: 'ServiceUnavailable',
        httpStatusCode: 503,
        message: 'the lease table is unavailable',
      });
    }
    if (errorRoll < faults.throttleRate) {
      this.counts.throttles++;
      throw injectedError(operation, leaseKey, {
        name: 'ProvisionedThroughputExceededException',
        httpStatusCode: 400,
        message: 'the request rate is too high',
      });
    }
    if (errorRoll < faults.throttleRate + faults.serverErrorRate) {
      this.counts.serverErrors++;
      throw injectedError(operation, leaseKey, {
        name: 'InternalServerError',
        httpStatusCode: 500,
        message: 'internal server error',
      });
    }
    if (latencyRoll < faults.latencyRate) {
      this.counts.delays++;
      const [min, max] = faults.latencyMs;
      await sleep(min + latencyFraction * (max - min));
    }
    const result = await call();
    if (ambiguousRoll < faults.ambiguousRate) {
      this.counts.ambiguous++;
      throw injectedError(operation, leaseKey, {
        name: 'TimeoutError',
        message: 'no response in time (the request was processed)',
      });
    }
    return result;
  }
}

/* ------------------------------------------------------------------------ */
/* DynamoDB client middleware                                                */
/* ------------------------------------------------------------------------ */

export interface DynamoDbFaultRates {
  /** Probability that an attempt fails with ProvisionedThroughputExceededException. */
  throttleRate?: number;
  /** Probability that an attempt fails with InternalServerError (HTTP 500). */
  serverErrorRate?: number;
}

export interface DynamoDbFaultOptions extends DynamoDbFaultRates {
  seed: number;
}

export interface DynamoDbFaultInjection {
  /** Attempts that reached the injection point: every request the SDK tries to send, retries included. */
  readonly attempts: number;
  readonly throttles: number;
  readonly serverErrors: number;
  /** Changes the rates from the next attempt on. */
  configure(rates: DynamoDbFaultRates): void;
  /** Takes the middleware off the client. */
  remove(): void;
}

export const DYNAMODB_FAULT_MIDDLEWARE = 'caliFaultInjection';

const INJECTOR = 'injectDynamoDbFaults';

/**
 * Fails a share of `client`'s requests before they are sent. The middleware
 * sits in the finalizeRequest step at low priority, after the SDK's retry
 * middleware (finalizeRequest, high) and signing, so it runs once per attempt
 * and the retry loop classifies, backs off and retries these errors as it would
 * the service's. One injector per client (the middleware name is fixed).
 */
export function injectDynamoDbFaults(client: DynamoDBClient, options: DynamoDbFaultOptions): DynamoDbFaultInjection {
  const random = seededRandom(options.seed);
  let throttleRate = 0;
  let serverErrorRate = 0;
  const injection = {
    attempts: 0,
    throttles: 0,
    serverErrors: 0,
    configure(rates: DynamoDbFaultRates): void {
      const nextThrottleRate = rates.throttleRate ?? 0;
      const nextServerErrorRate = rates.serverErrorRate ?? 0;
      assertErrorRates(INJECTOR, nextThrottleRate, nextServerErrorRate);
      throttleRate = nextThrottleRate;
      serverErrorRate = nextServerErrorRate;
    },
    remove(): void {
      client.middlewareStack.remove(DYNAMODB_FAULT_MIDDLEWARE);
    },
  };
  injection.configure(options);

  client.middlewareStack.add(
    (next) => async (args) => {
      injection.attempts++;
      const roll = random();
      if (roll < throttleRate) {
        injection.throttles++;
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded (injected fault)',
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (roll < throttleRate + serverErrorRate) {
        injection.serverErrors++;
        throw new InternalServerError({
          message: 'Internal server error (injected fault)',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: DYNAMODB_FAULT_MIDDLEWARE },
  );
  return injection;
}
