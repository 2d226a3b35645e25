/**
 * The lease table on DynamoDB, item for item in the KCL 2.x format so that an
 * operator who knows KCL can read it (and KCL tooling can too):
 *
 *   leaseKey S (hash key) · leaseOwner S, absent when unowned · leaseCounter N
 *   checkpoint S (sequence number or sentinel) · checkpointSubSequenceNumber N
 *   ownerSwitchesSinceCheckpoint N · parentShardId SS · childShardIds SS
 *   (sets are absent when empty: DynamoDB has no empty sets)
 *   startingHashKey S · endingHashKey S · pendingOwner S (CALI's handoff)
 *
 * The item codec and the conditional writes are exported as data
 * (`LeaseWrite`: conditions, attributes to set and to remove) so that
 * MemoryLeaseStore stores the very same items and evaluates the very same
 * writes; only the evaluation differs (here: DynamoDB expressions).
 *
 * Retries: the SDK retries inside one call (maxAttempts), the caller retries
 * across calls within its own deadline (renewal must land before the lease may
 * have expired). `DynamoDbLeaseStore.create` therefore makes a client with few
 * SDK attempts (LEASE_STORE_MAX_ATTEMPTS), and every request is aborted after
 * `operationTimeoutMs`, retries included, so no call outlives the caller's deadline.
 * Few attempts also matter for a second reason: a conditional write that the
 * SDK retries after its first attempt landed unseen (a 5xx or a reset after the
 * commit) fails its condition on the retry and reads as a lost lease. That is
 * safe (never two owners) but spurious, and each extra attempt makes it likelier.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, type AwsClientOptions } from '../aws.js';
import { isValidCheckpointValue, type Checkpoint, type Lease } from './lease.js';
import {
  LeaseStoreError,
  type CheckpointUpdate,
  type LeaseListing,
  type LeaseStore,
  type SkippedItem,
} from './lease-store.js';
import { createLeaseTableIfMissing } from './table.js';

/** One lease table item in DynamoDB's attribute-value format. */
export type LeaseItem = Record<string, AttributeValue>;

/** Attribute names: KCL 2.x's, plus CALI's pendingOwner. */
export const LeaseAttribute = {
  leaseKey: 'leaseKey',
  leaseOwner: 'leaseOwner',
  leaseCounter: 'leaseCounter',
  checkpoint: 'checkpoint',
  checkpointSubSequenceNumber: 'checkpointSubSequenceNumber',
  ownerSwitchesSinceCheckpoint: 'ownerSwitchesSinceCheckpoint',
  parentShardIds: 'parentShardId',
  childShardIds: 'childShardIds',
  startingHashKey: 'startingHashKey',
  endingHashKey: 'endingHashKey',
  pendingOwner: 'pendingOwner',
} as const;

/** Few SDK attempts: the lease logic retries within its own deadline, and a slow retry loop here would eat it. */
export const LEASE_STORE_MAX_ATTEMPTS = 2;

/**
 * DynamoDB answers in milliseconds; a request still pending after this is
 * failed (retriable, and ambiguous for a write) rather than left to hang a
 * renewal. Callers with tighter deadlines (failover / 3) pass less.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;

/* ------------------------------------------------------------------------ */
/* Item codec                                                                */
/* ------------------------------------------------------------------------ */

export type ParsedLeaseItem =
  | { readonly ok: true; readonly lease: Lease }
  | { readonly ok: false; readonly skipped: SkippedItem };

/** Internal control flow of parseLeaseItem: the first problem found. */
class InvalidItem extends Error {}

/** Enough of a value to recognise it in a log line, never a whole blob. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeName(value: AttributeValue): string {
  return Object.keys(value).find((key) => key !== '$unknown') ?? 'an unknown type';
}

function optionalString(item: LeaseItem, attribute: string): string | undefined {
  const value = item[attribute];
  if (value === undefined) return undefined;
  if (value.S === undefined) throw new InvalidItem(`${attribute} is ${typeName(value)}, expected S`);
  return value.S;
}

function requiredString(item: LeaseItem, attribute: string): string {
  const value = optionalString(item, attribute);
  if (value === undefined) throw new InvalidItem(`${attribute} is missing`);
  return value;
}

/** A worker id: absent means nobody; present must name someone. */
function optionalWorkerId(item: LeaseItem, attribute: string): string | undefined {
  const value = optionalString(item, attribute);
  if (value === '') throw new InvalidItem(`${attribute} is an empty string`);
  return value;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function optionalCount(item: LeaseItem, attribute: string): number | undefined {
  const value = item[attribute];
  if (value === undefined) return undefined;
  if (value.N === undefined) throw new InvalidItem(`${attribute} is ${typeName(value)}, expected N`);
  const count = Number(value.N);
  if (!isCount(count)) throw new InvalidItem(`${attribute} is ${preview(value.N)}, expected a non-negative integer`);
  return count;
}

/** Sets come back in no particular order: sorted, both stores agree. */
function stringSet(item: LeaseItem, attribute: string): string[] {
  const value = item[attribute];
  if (value === undefined) return [];
  if (value.SS === undefined) throw new InvalidItem(`${attribute} is ${typeName(value)}, expected SS`);
  return [...value.SS].sort();
}

/**
 * Reads an item as a lease, or says why it is not one. leaseKey, leaseCounter
 * and checkpoint are required; the two counters KCL keeps beside them read as
 * 0 when absent, since a lease must not become unusable for lacking a statistic.
 * Attributes CALI does not know (other KCL versions') are ignored.
 */
export function parseLeaseItem(item: LeaseItem): ParsedLeaseItem {
  const keyValue = item[LeaseAttribute.leaseKey]?.S;
  const leaseKey = keyValue === undefined || keyValue === '' ? undefined : keyValue;
  try {
    if (leaseKey === undefined) throw new InvalidItem(`${LeaseAttribute.leaseKey} is missing or not a non-empty S`);
    const leaseCounter = optionalCount(item, LeaseAttribute.leaseCounter);
    if (leaseCounter === undefined) throw new InvalidItem(`${LeaseAttribute.leaseCounter} is missing`);
    const sequenceNumber = requiredString(item, LeaseAttribute.checkpoint);
    if (!isValidCheckpointValue(sequenceNumber)) {
      throw new InvalidItem(
        `${LeaseAttribute.checkpoint} is ${preview(sequenceNumber)}, neither a sentinel nor a sequence number`,
      );
    }
    const lease: Lease = {
      leaseKey,
      leaseOwner: optionalWorkerId(item, LeaseAttribute.leaseOwner),
      leaseCounter,
      checkpoint: {
        sequenceNumber,
        subSequenceNumber: optionalCount(item, LeaseAttribute.checkpointSubSequenceNumber) ?? 0,
      },
      ownerSwitchesSinceCheckpoint: optionalCount(item, LeaseAttribute.ownerSwitchesSinceCheckpoint) ?? 0,
      parentShardIds: stringSet(item, LeaseAttribute.parentShardIds),
      childShardIds: stringSet(item, LeaseAttribute.childShardIds),
      startingHashKey: optionalString(item, LeaseAttribute.startingHashKey),
      endingHashKey: optionalString(item, LeaseAttribute.endingHashKey),
      pendingOwner: optionalWorkerId(item, LeaseAttribute.pendingOwner),
    };
    return { ok: true, lease };
  } catch (error) {
    if (!(error instanceof InvalidItem)) throw error;
    return { ok: false, skipped: { leaseKey, reason: error.message } };
  }
}

/** A caller's mistake: retrying cannot help. */
function invalidArgument(operation: string, leaseKey: string, problem: string): LeaseStoreError {
  return new LeaseStoreError(`${operation}(${leaseKey}): ${problem}`, false);
}

function assertCount(operation: string, leaseKey: string, name: string, value: number): void {
  if (!isCount(value)) throw invalidArgument(operation, leaseKey, `${name} must be a non-negative integer, got ${value}`);
}

function assertWorkerId(operation: string, leaseKey: string, name: string, value: string | undefined): void {
  if (value === '') throw invalidArgument(operation, leaseKey, `${name} must not be empty`);
}

function assertCheckpoint(operation: string, leaseKey: string, checkpoint: Checkpoint): void {
  if (!isValidCheckpointValue(checkpoint.sequenceNumber)) {
    throw invalidArgument(
      operation,
      leaseKey,
      `checkpoint ${preview(checkpoint.sequenceNumber)} is neither a sentinel nor a sequence number`,
    );
  }
  assertCount(operation, leaseKey, 'subSequenceNumber', checkpoint.subSequenceNumber);
}

function assertLeaseIdentity(operation: string, lease: Lease): void {
  if (lease.leaseKey === '') throw invalidArgument(operation, lease.leaseKey, 'leaseKey must not be empty');
  assertCount(operation, lease.leaseKey, 'leaseCounter', lease.leaseCounter);
}

/** Renew, release and checkpoint are the owner's writes: a lease nobody holds has no owner to expect. */
function ownerOf(operation: string, lease: Lease): string {
  if (lease.leaseOwner === undefined) {
    throw invalidArgument(operation, lease.leaseKey, 'the lease has no owner; only an owner can do this');
  }
  return lease.leaseOwner;
}

function stringValue(value: string): AttributeValue.SMember {
  return { S: value };
}

function numberValue(value: number): AttributeValue.NMember {
  return { N: String(value) };
}

/** Absent when empty (DynamoDB has no empty sets), deduplicated (SS rejects duplicates). */
function setValue(values: readonly string[]): AttributeValue.SSMember | undefined {
  return values.length === 0 ? undefined : { SS: [...new Set(values)].sort() };
}

/** The item that stores `lease`; throws a non-retriable LeaseStoreError for a lease no store should hold. */
export function leaseToItem(lease: Lease): LeaseItem {
  const operation = 'createLeaseIfNotExists';
  assertLeaseIdentity(operation, lease);
  assertWorkerId(operation, lease.leaseKey, 'leaseOwner', lease.leaseOwner);
  assertWorkerId(operation, lease.leaseKey, 'pendingOwner', lease.pendingOwner);
  assertCheckpoint(operation, lease.leaseKey, lease.checkpoint);
  assertCount(operation, lease.leaseKey, 'ownerSwitchesSinceCheckpoint', lease.ownerSwitchesSinceCheckpoint);
  const optional: [string, AttributeValue | undefined][] = [
    [LeaseAttribute.leaseOwner, lease.leaseOwner === undefined ? undefined : stringValue(lease.leaseOwner)],
    [LeaseAttribute.parentShardIds, setValue(lease.parentShardIds)],
    [LeaseAttribute.childShardIds, setValue(lease.childShardIds)],
    [LeaseAttribute.startingHashKey, lease.startingHashKey === undefined ? undefined : stringValue(lease.startingHashKey)],
    [LeaseAttribute.endingHashKey, lease.endingHashKey === undefined ? undefined : stringValue(lease.endingHashKey)],
    [LeaseAttribute.pendingOwner, lease.pendingOwner === undefined ? undefined : stringValue(lease.pendingOwner)],
  ];
  const item: LeaseItem = {
    [LeaseAttribute.leaseKey]: stringValue(lease.leaseKey),
    [LeaseAttribute.leaseCounter]: numberValue(lease.leaseCounter),
    [LeaseAttribute.checkpoint]: stringValue(lease.checkpoint.sequenceNumber),
    [LeaseAttribute.checkpointSubSequenceNumber]: numberValue(lease.checkpoint.subSequenceNumber),
    [LeaseAttribute.ownerSwitchesSinceCheckpoint]: numberValue(lease.ownerSwitchesSinceCheckpoint),
  };
  for (const [attribute, value] of optional) if (value !== undefined) item[attribute] = value;
  return item;
}

/* ------------------------------------------------------------------------ */
/* Conditional writes, as data                                               */
/* ------------------------------------------------------------------------ */

/** The conditions our writes need: equality on a string or number, and absence. */
export type LeaseCondition =
  | {
      readonly kind: 'equals';
      readonly attribute: string;
      readonly value: AttributeValue.SMember | AttributeValue.NMember;
    }
  | { readonly kind: 'absent'; readonly attribute: string };

/** An UpdateItem (or, with no set/remove, a DeleteItem) that applies only when every condition holds. */
export interface LeaseWrite {
  readonly leaseKey: string;
  readonly conditions: readonly LeaseCondition[];
  readonly set: Readonly<Record<string, AttributeValue>>;
  readonly remove: readonly string[];
}

function expectCounter(lease: Lease): LeaseCondition {
  return { kind: 'equals', attribute: LeaseAttribute.leaseCounter, value: numberValue(lease.leaseCounter) };
}

function expectOwner(owner: string | undefined): LeaseCondition {
  return owner === undefined
    ? { kind: 'absent', attribute: LeaseAttribute.leaseOwner }
    : { kind: 'equals', attribute: LeaseAttribute.leaseOwner, value: stringValue(owner) };
}

function nextCounter(lease: Lease): Record<string, AttributeValue> {
  return { [LeaseAttribute.leaseCounter]: numberValue(lease.leaseCounter + 1) };
}

export function renewWrite(lease: Lease): LeaseWrite {
  assertLeaseIdentity('renewLease', lease);
  const owner = ownerOf('renewLease', lease);
  return {
    leaseKey: lease.leaseKey,
    conditions: [expectCounter(lease), expectOwner(owner)],
    set: nextCounter(lease),
    remove: [],
  };
}

/**
 * Like KCL, a switch is a move from one owner to another: taking an unowned
 * (released) lease, or re-taking one's own, is not counted.
 */
export function takeWrite(lease: Lease, newOwner: string): LeaseWrite {
  assertLeaseIdentity('takeLease', lease);
  assertWorkerId('takeLease', lease.leaseKey, 'newOwner', newOwner);
  assertCount('takeLease', lease.leaseKey, 'ownerSwitchesSinceCheckpoint', lease.ownerSwitchesSinceCheckpoint);
  const switched = lease.leaseOwner !== undefined && lease.leaseOwner !== newOwner;
  return {
    leaseKey: lease.leaseKey,
    conditions: [expectCounter(lease), expectOwner(lease.leaseOwner)],
    set: {
      ...nextCounter(lease),
      [LeaseAttribute.leaseOwner]: stringValue(newOwner),
      ...(switched
        ? { [LeaseAttribute.ownerSwitchesSinceCheckpoint]: numberValue(lease.ownerSwitchesSinceCheckpoint + 1) }
        : {}),
    },
    remove: [LeaseAttribute.pendingOwner],
  };
}

/** Not conditional on the counter: the requester's view of it is stale by every renewal. */
export function requestHandoffWrite(lease: Lease, requester: string): LeaseWrite {
  const owner = ownerOf('requestHandoff', lease);
  assertWorkerId('requestHandoff', lease.leaseKey, 'requester', requester);
  if (requester === owner) throw invalidArgument('requestHandoff', lease.leaseKey, `${requester} already owns the lease`);
  return {
    leaseKey: lease.leaseKey,
    conditions: [expectOwner(owner), { kind: 'absent', attribute: LeaseAttribute.pendingOwner }],
    set: { [LeaseAttribute.pendingOwner]: stringValue(requester) },
    remove: [],
  };
}

export function releaseWrite(lease: Lease): LeaseWrite {
  assertLeaseIdentity('releaseLease', lease);
  const owner = ownerOf('releaseLease', lease);
  return {
    leaseKey: lease.leaseKey,
    conditions: [expectCounter(lease), expectOwner(owner)],
    set: nextCounter(lease),
    remove: [LeaseAttribute.leaseOwner, LeaseAttribute.pendingOwner],
  };
}

/** `childShardIds`, when given, replaces the stored set (an empty list removes it). pendingOwner stays: the handoff follows the checkpoint. */
export function checkpointWrite(lease: Lease, update: CheckpointUpdate): LeaseWrite {
  assertLeaseIdentity('updateCheckpoint', lease);
  const owner = ownerOf('updateCheckpoint', lease);
  assertCheckpoint('updateCheckpoint', lease.leaseKey, update.checkpoint);
  const children = update.childShardIds === undefined ? undefined : setValue(update.childShardIds);
  return {
    leaseKey: lease.leaseKey,
    conditions: [expectCounter(lease), expectOwner(owner)],
    set: {
      ...nextCounter(lease),
      [LeaseAttribute.checkpoint]: stringValue(update.checkpoint.sequenceNumber),
      [LeaseAttribute.checkpointSubSequenceNumber]: numberValue(update.checkpoint.subSequenceNumber),
      [LeaseAttribute.ownerSwitchesSinceCheckpoint]: numberValue(0),
      ...(children === undefined ? {} : { [LeaseAttribute.childShardIds]: children }),
    },
    remove: update.childShardIds !== undefined && children === undefined ? [LeaseAttribute.childShardIds] : [],
  };
}

export function deleteWrite(lease: Lease): LeaseWrite {
  assertLeaseIdentity('deleteLease', lease);
  return { leaseKey: lease.leaseKey, conditions: [expectCounter(lease)], set: {}, remove: [] };
}

export const createCondition: readonly LeaseCondition[] = [{ kind: 'absent', attribute: LeaseAttribute.leaseKey }];

/** The stored lease after a successful write; an item that no longer parses is not something to retry. */
export function writtenLease(operation: string, leaseKey: string, item: LeaseItem | undefined): Lease {
  if (item === undefined) throw new LeaseStoreError(`${operation}(${leaseKey}): the write returned no item`, false);
  const parsed = parseLeaseItem(item);
  if (!parsed.ok) {
    throw new LeaseStoreError(
      `${operation}(${leaseKey}): written, but the item is not a valid lease: ${parsed.skipped.reason}`,
      false,
    );
  }
  return parsed.lease;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);
const SERVER_ERRORS = new Set(['InternalServerError', 'ServiceUnavailable']);
const TIMEOUT_ERRORS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
/** The connection broke or never formed: the request may or may not have been processed. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

interface ErrorFields {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
}

function fieldsOf(error: unknown): ErrorFields {
  return typeof error === 'object' && error !== null ? (error as ErrorFields) : {};
}

/** Node reports a failed dual-stack connect as an AggregateError of per-address errors. */
function networkErrorCode(error: ErrorFields): string | undefined {
  if (typeof error.code === 'string' && NETWORK_ERROR_CODES.has(error.code)) return error.code;
  if (!Array.isArray(error.errors)) return undefined;
  return error.errors.map((inner) => networkErrorCode(fieldsOf(inner))).find((code) => code !== undefined);
}

export function isRetriableDynamoDbError(error: unknown): boolean {
  const fields = fieldsOf(error);
  const name = typeof fields.name === 'string' ? fields.name : '';
  const status = fields.$metadata?.httpStatusCode;
  return (
    THROTTLING_ERRORS.has(name) ||
    SERVER_ERRORS.has(name) ||
    TIMEOUT_ERRORS.has(name) ||
    status === 429 ||
    (typeof status === 'number' && status >= 500) ||
    networkErrorCode(fields) !== undefined
  );
}

function isConditionalCheckFailed(error: unknown): boolean {
  return fieldsOf(error).name === 'ConditionalCheckFailedException';
}

function describeError(error: unknown): string {
  const fields = fieldsOf(error);
  const name = typeof fields.name === 'string' ? fields.name : 'Error';
  const code = networkErrorCode(fields);
  const message = typeof fields.message === 'string' && fields.message !== '' ? `: ${fields.message}` : '';
  const attempts = fields.$metadata?.attempts;
  return `${name}${code !== undefined && code !== name ? ` (${code})` : ''}${message}${
    typeof attempts === 'number' && attempts > 1 ? ` (after ${attempts} attempts)` : ''
  }`;
}

/* ------------------------------------------------------------------------ */
/* The store                                                                 */
/* ------------------------------------------------------------------------ */

export interface DynamoDbLeaseStoreOptions {
  /** Items per Scan page; unset means DynamoDB's own 1 MB pages. Small pages are for tests. */
  scanPageSize?: number;
  /** Every request is aborted after this, SDK retries included (DEFAULT_OPERATION_TIMEOUT_MS). */
  operationTimeoutMs?: number;
}

export interface DynamoDbLeaseStoreCreateOptions extends AwsClientOptions, DynamoDbLeaseStoreOptions {
  tableName: string;
}

/** Placeholders for one request: DynamoDB rejects names and values that the expressions do not use. */
class ExpressionPlaceholders {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, AttributeValue> = {};
  private valueCount = 0;

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: AttributeValue): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  condition(conditions: readonly LeaseCondition[]): string {
    return conditions
      .map((condition) =>
        condition.kind === 'equals'
          ? `${this.name(condition.attribute)} = ${this.value(condition.value)}`
          : `attribute_not_exists(${this.name(condition.attribute)})`,
      )
      .join(' AND ');
  }

  update(write: LeaseWrite): string {
    const set = Object.entries(write.set).map(([attribute, value]) => `${this.name(attribute)} = ${this.value(value)}`);
    const remove = write.remove.map((attribute) => this.name(attribute));
    return [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '']
      .filter((clause) => clause !== '')
      .join(' ');
  }

  /** ExpressionAttributeValues must be omitted, not empty, when no value is used. */
  params(): { ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } {
    return {
      ExpressionAttributeNames: this.names,
      ...(this.valueCount === 0 ? {} : { ExpressionAttributeValues: this.values }),
    };
  }
}

export class DynamoDbLeaseStore implements LeaseStore {
  private readonly scanPageSize: number | undefined;
  private readonly operationTimeoutMs: number;
  private ownsClient = false;

  /** The store uses `client` but does not own it: the caller destroys it. */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    options: DynamoDbLeaseStoreOptions = {},
  ) {
    if (tableName === '') throw new RangeError('DynamoDbLeaseStore: tableName must not be empty');
    if (options.scanPageSize !== undefined && !(Number.isSafeInteger(options.scanPageSize) && options.scanPageSize > 0)) {
      throw new RangeError(`DynamoDbLeaseStore: scanPageSize must be a positive integer, got ${options.scanPageSize}`);
    }
    const timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`DynamoDbLeaseStore: operationTimeoutMs must be a positive number, got ${timeoutMs}`);
    }
    this.scanPageSize = options.scanPageSize;
    this.operationTimeoutMs = timeoutMs;
  }

  /** A store with its own client, made with few SDK attempts (LEASE_STORE_MAX_ATTEMPTS unless set); close() destroys it. */
  static create(options: DynamoDbLeaseStoreCreateOptions): DynamoDbLeaseStore {
    const { tableName, scanPageSize, operationTimeoutMs, ...clientOptions } = options;
    const client = createDynamoDbClient({ ...clientOptions, maxAttempts: clientOptions.maxAttempts ?? LEASE_STORE_MAX_ATTEMPTS });
    const store = new DynamoDbLeaseStore(client, tableName, {
      ...(scanPageSize === undefined ? {} : { scanPageSize }),
      ...(operationTimeoutMs === undefined ? {} : { operationTimeoutMs }),
    });
    store.ownsClient = true;
    return store;
  }

  /** Destroys the client if the store made it (create); a client passed in is the caller's to destroy. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** Failures are CaliError CALI_ERR_LEASE_TABLE (they name the fix), as for the embedded stack. */
  async ensureTable(): Promise<void> {
    await createLeaseTableIfMissing(this.client, this.tableName);
  }

  async listLeases(): Promise<LeaseListing> {
    const leases: Lease[] = [];
    const skipped: SkippedItem[] = [];
    let startKey: LeaseItem | undefined;
    do {
      const page = await this.send('listLeases', undefined, (abortSignal) =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            ...(this.scanPageSize === undefined ? {} : { Limit: this.scanPageSize }),
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
          { abortSignal },
        ),
      );
      for (const item of page.Items ?? []) {
        const parsed = parseLeaseItem(item);
        if (parsed.ok) leases.push(parsed.lease);
        else skipped.push(parsed.skipped);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return { leases, skipped };
  }

  /** Undefined also for an item that is not a valid lease, as listLeases skips it. */
  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const result = await this.send('getLease', leaseKey, (abortSignal) =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [LeaseAttribute.leaseKey]: stringValue(leaseKey) },
          ConsistentRead: true,
        }),
        { abortSignal },
      ),
    );
    if (result.Item === undefined) return undefined;
    const parsed = parseLeaseItem(result.Item);
    return parsed.ok ? parsed.lease : undefined;
  }

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    const item = leaseToItem(lease);
    const placeholders = new ExpressionPlaceholders();
    const condition = placeholders.condition(createCondition);
    const result = await this.sendConditional('createLeaseIfNotExists', lease.leaseKey, (abortSignal) =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ...placeholders.params(),
        }),
        { abortSignal },
      ),
    );
    return result !== undefined;
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
    const placeholders = new ExpressionPlaceholders();
    const condition = placeholders.condition(write.conditions);
    const result = await this.sendConditional('deleteLease', write.leaseKey, (abortSignal) =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [LeaseAttribute.leaseKey]: stringValue(write.leaseKey) },
          ConditionExpression: condition,
          ...placeholders.params(),
        }),
        { abortSignal },
      ),
    );
    return result !== undefined;
  }

  private async update(operation: string, write: LeaseWrite): Promise<Lease | undefined> {
    const placeholders = new ExpressionPlaceholders();
    const condition = placeholders.condition(write.conditions);
    const update = placeholders.update(write);
    const result = await this.sendConditional(operation, write.leaseKey, (abortSignal) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LeaseAttribute.leaseKey]: stringValue(write.leaseKey) },
          ConditionExpression: condition,
          UpdateExpression: update,
          ...placeholders.params(),
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal },
      ),
    );
    return result === undefined ? undefined : writtenLease(operation, write.leaseKey, result.Attributes);
  }

  /** Conditional writes: a failed condition is an outcome (undefined), not an error. */
  private sendConditional<T>(
    operation: string,
    leaseKey: string,
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T | undefined> {
    return this.send(operation, leaseKey, async (abortSignal) => {
      try {
        return await request(abortSignal);
      } catch (error) {
        if (isConditionalCheckFailed(error)) return undefined;
        throw error;
      }
    });
  }

  /** One request under the operation timeout; every failure becomes a LeaseStoreError. */
  private async send<T>(
    operation: string,
    leaseKey: string | undefined,
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const abortSignal = AbortSignal.timeout(this.operationTimeoutMs);
    try {
      return await request(abortSignal);
    } catch (error) {
      const target = `${operation}${leaseKey === undefined ? '' : `(${leaseKey})`} on lease table "${this.tableName}"`;
      if (abortSignal.aborted) {
        throw new LeaseStoreError(
          `${target} timed out after ${this.operationTimeoutMs} ms (a write may have happened all the same)`,
          true,
          { cause: error },
        );
      }
      throw new LeaseStoreError(`${target} failed: ${describeError(error)}`, isRetriableDynamoDbError(error), {
        cause: error,
      });
    }
  }
}
