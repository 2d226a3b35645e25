/**
 * The lease table in memory, for fast tests, with DynamoDbLeaseStore's
 * semantics by construction: it stores the same KCL-format items (leaseToItem)
 * and applies the same conditional writes (LeaseWrite), evaluating their
 * conditions the way DynamoDB does. Each call yields to the event loop before
 * and after it takes effect, like a request and its response in flight, so
 * concurrent callers interleave as they would against the real table; the
 * effect itself is atomic, as a single-item write is in DynamoDB.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  checkpointWrite,
  createCondition,
  deleteWrite,
  LeaseAttribute,
  leaseToItem,
  parseLeaseItem,
  releaseWrite,
  renewWrite,
  requestHandoffWrite,
  takeWrite,
  writtenLease,
  type LeaseCondition,
  type LeaseItem,
  type LeaseWrite,
} from './dynamodb-lease-store.js';
import type { Lease } from './lease.js';
import type { CheckpointUpdate, LeaseListing, LeaseStore, SkippedItem } from './lease-store.js';

export interface MemoryLeaseStoreOptions {
  /** Items per listLeases page (default 100); pages are read one event-loop turn apart, like Scan pages. */
  scanPageSize?: number;
}

const DEFAULT_SCAN_PAGE_SIZE = 100;

/** DynamoDB compares numbers by value ("5" equals "5.0"), strings exactly, and values of different types never match. */
function matches(actual: AttributeValue | undefined, expected: Extract<LeaseCondition, { kind: 'equals' }>): boolean {
  if (actual === undefined) return false;
  const { value } = expected;
  if (value.S !== undefined) return actual.S === value.S;
  return actual.N !== undefined && Number(actual.N) === Number(value.N);
}

function holds(item: LeaseItem | undefined, conditions: readonly LeaseCondition[]): boolean {
  return conditions.every((condition) =>
    condition.kind === 'absent' ? item?.[condition.attribute] === undefined : matches(item?.[condition.attribute], condition),
  );
}

export class MemoryLeaseStore implements LeaseStore {
  private readonly items = new Map<string, LeaseItem>();
  private readonly scanPageSize: number;

  constructor(options: MemoryLeaseStoreOptions = {}) {
    const pageSize = options.scanPageSize ?? DEFAULT_SCAN_PAGE_SIZE;
    if (!(Number.isSafeInteger(pageSize) && pageSize > 0)) {
      throw new RangeError(`MemoryLeaseStore: scanPageSize must be a positive integer, got ${pageSize}`);
    }
    this.scanPageSize = pageSize;
  }

  /**
   * Test hook: stores `item` as another program might have written it
   * (foreign or corrupt), unchecked except for the key DynamoDB requires.
   */
  async putRawItem(item: LeaseItem): Promise<void> {
    await yieldToEventLoop();
    const leaseKey = item[LeaseAttribute.leaseKey]?.S;
    if (leaseKey === undefined || leaseKey === '') {
      throw new TypeError(`MemoryLeaseStore.putRawItem: the item needs a non-empty string ${LeaseAttribute.leaseKey}`);
    }
    this.items.set(leaseKey, structuredClone(item));
  }

  /** Test hook: a copy of the stored item, as GetItem would return it. */
  async getRawItem(leaseKey: string): Promise<LeaseItem | undefined> {
    await yieldToEventLoop();
    const item = this.items.get(leaseKey);
    return item === undefined ? undefined : structuredClone(item);
  }

  async ensureTable(): Promise<void> {
    await yieldToEventLoop();
  }

  /** Like a Scan, not a snapshot: a write between two pages shows in the later page only. */
  async listLeases(): Promise<LeaseListing> {
    const leases: Lease[] = [];
    const skipped: SkippedItem[] = [];
    let lastKey: string | undefined;
    for (;;) {
      await yieldToEventLoop();
      const page = [...this.items]
        .filter(([key]) => lastKey === undefined || key > lastKey)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .slice(0, this.scanPageSize);
      for (const [, item] of page) {
        const parsed = parseLeaseItem(item);
        if (parsed.ok) leases.push(parsed.lease);
        else skipped.push(parsed.skipped);
      }
      lastKey = page.at(-1)?.[0];
      if (page.length < this.scanPageSize) break;
    }
    await yieldToEventLoop();
    return { leases, skipped };
  }

  /** Undefined also for an item that is not a valid lease, as listLeases skips it. */
  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const item = await this.respond(() => this.items.get(leaseKey));
    if (item === undefined) return undefined;
    const parsed = parseLeaseItem(item);
    return parsed.ok ? parsed.lease : undefined;
  }

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    const item = leaseToItem(lease);
    return this.respond(() => {
      if (!holds(this.items.get(lease.leaseKey), createCondition)) return false;
      this.items.set(lease.leaseKey, item);
      return true;
    });
  }

  async renewLease(lease: Lease): Promise<Lease | undefined> {
    return this.update('renewLease', renewWrite(lease));
  }

  async takeLease(lease: Lease, newOwner: string): Promise<Lease | undefined> {
    return this.update('takeLease', takeWrite(lease, newOwner));
  }

  async requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    return (await this.update('requestHandoff', requestHandoffWrite(lease, requester))) !== undefined;
  }

  async releaseLease(lease: Lease): Promise<Lease | undefined> {
    return this.update('releaseLease', releaseWrite(lease));
  }

  async updateCheckpoint(lease: Lease, update: CheckpointUpdate): Promise<Lease | undefined> {
    return this.update('updateCheckpoint', checkpointWrite(lease, update));
  }

  async deleteLease(lease: Lease): Promise<boolean> {
    const write = deleteWrite(lease);
    return this.respond(() => {
      if (!holds(this.items.get(write.leaseKey), write.conditions)) return false;
      this.items.delete(write.leaseKey);
      return true;
    });
  }

  /** UpdateItem with ALL_NEW: like DynamoDB, a write whose conditions hold on a missing item creates it. */
  private async update(operation: string, write: LeaseWrite): Promise<Lease | undefined> {
    const written = await this.respond(() => {
      const current = this.items.get(write.leaseKey);
      if (!holds(current, write.conditions)) return undefined;
      const next: LeaseItem = {
        ...current,
        [LeaseAttribute.leaseKey]: { S: write.leaseKey },
        ...structuredClone(write.set),
      };
      for (const attribute of write.remove) delete next[attribute];
      this.items.set(write.leaseKey, next);
      return structuredClone(next);
    });
    return written === undefined ? undefined : writtenLease(operation, write.leaseKey, written);
  }

  /** Runs `effect` atomically between a request's and a response's turn of the event loop. */
  private async respond<T>(effect: () => T): Promise<T> {
    await yieldToEventLoop();
    const result = effect();
    await yieldToEventLoop();
    return result;
  }
}
