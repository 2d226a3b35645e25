/**
 * The alert table (DynamoDB, hash key `pk` S): what makes one alert per
 * fingerprint per window across replicas, and what survives a replica.
 *
 *   fp#<fingerprint>            the head: windowId N (a counter), openedAtMs,
 *                               closesAtMs, ruleId. Opening a window is a
 *                               conditional update of the head (no window or
 *                               the last one ended): exactly one replica wins.
 *   win#<fingerprint>#<id>      one window: count N (ADD from every replica),
 *                               pods SS, first/lastSeenMs, alertJson S (the
 *                               alert's redacted content, so anyone can send
 *                               it), state claimed|sent, owner, claimedAtMs,
 *                               alertedCount, reportedCount, messageRef,
 *                               closeState closing|closed, closedBy,
 *                               closingAtMs, digestCount.
 *   thr#<rule>#<key>#<bucket>   threshold counts (ADD), fixed buckets.
 *
 * Every item has `expiresAt` (epoch seconds) for DynamoDB TTL, enabled on
 * AWS (dynalite does not support UpdateTimeToLive; see docs/alerting.md).
 *
 * Protocol: the winner of the head writes the window as claimed and sends
 * the alert, then marks it sent. Losers add their counts. A window whose
 * alert is not sent `claimTimeoutMs` after it was claimed (its sender died,
 * or its queue dropped it) is taken over by a conditional update and sent by
 * another replica: at-least-once alerting. After a window's end plus grace,
 * one replica claims the close (conditional) and sends the digest of the
 * repeats (count - reportedCount), then closes the window only if its count
 * is still the one it reported (conditional): a flush that landed meanwhile
 * makes it record its progress and digest the rest. A flush that lands after
 * the close finds the window closed in the item it gets back and reopens the
 * close for what it added. So every occurrence in the table is reported once
 * (twice only when a closer outlives the claim timeout and is taken over).
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type GetItemCommandOutput,
  type ScanCommandOutput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { CaliError } from '../../errors.js';
import { sleep } from '../../sleep.js';
import type { AlertSnapshot } from './alert.js';
import type { MessageRef } from './delivery.js';

export const ALERT_TABLE_KEY = 'pk';
/** Items outlive their window by this much before DynamoDB TTL may delete them. */
const RETAIN_MS = 24 * 3_600_000;
const CLAIM_ATTEMPTS = 3;
const SCAN_PAGE_LIMIT = 20;

export interface WindowRef {
  readonly fingerprint: string;
  readonly windowId: number;
  readonly ruleId: string;
  readonly openedAtMs: number;
  readonly closesAtMs: number;
}

export interface Occurrences {
  readonly count: number;
  readonly pods: readonly string[];
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface WindowRecord {
  readonly ref: WindowRef;
  readonly count: number;
  readonly pods: readonly string[];
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly snapshot: AlertSnapshot | undefined;
  readonly state: 'claimed' | 'sent' | undefined;
  readonly owner: string | undefined;
  readonly claimedAtMs: number | undefined;
  readonly alertedCount: number | undefined;
  /** Occurrences reported so far: in the alert, then in digests. */
  readonly reportedCount: number | undefined;
  readonly messageRef: MessageRef | undefined;
  readonly closeState: 'closing' | 'closed' | undefined;
  readonly closedBy: string | undefined;
  /** When the current closer claimed (or last renewed) the close: its fencing token together with closedBy. */
  readonly closingAtMs: number | undefined;
}

/** What finishing a close came to: closed, more to digest (another replica's flush landed), or the close was taken over. */
export type CloseOutcome = { readonly state: 'closed' } | { readonly state: 'more'; readonly record: WindowRecord } | { readonly state: 'fenced' };

export interface ClaimResult {
  readonly claimed: boolean;
  readonly ref: WindowRef;
}

type Item = Record<string, AttributeValue>;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const num = (item: Item, name: string): number | undefined => (item[name]?.N === undefined ? undefined : Number(item[name].N));
const str = (item: Item, name: string): string | undefined => item[name]?.S;
const expiresAt = (closesAtMs: number): AttributeValue => N(Math.ceil((closesAtMs + RETAIN_MS) / 1000));

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export function windowKey(fingerprint: string, windowId: number): string {
  return `win#${fingerprint}#${windowId}`;
}

function recordOf(item: Item): WindowRecord | undefined {
  const fingerprint = str(item, 'fp');
  const windowId = num(item, 'windowId');
  if (fingerprint === undefined || windowId === undefined) return undefined;
  const state = str(item, 'state');
  const closeState = str(item, 'closeState');
  return {
    ref: { fingerprint, windowId, ruleId: str(item, 'ruleId') ?? '', openedAtMs: num(item, 'openedAtMs') ?? 0, closesAtMs: num(item, 'closesAtMs') ?? 0 },
    count: num(item, 'count') ?? 0,
    pods: item.pods?.SS ?? [],
    firstSeenMs: num(item, 'firstSeenMs') ?? Number.NaN,
    lastSeenMs: num(item, 'lastSeenMs') ?? Number.NaN,
    snapshot: parseJson<AlertSnapshot>(str(item, 'alertJson')),
    state: state === 'claimed' || state === 'sent' ? state : undefined,
    owner: str(item, 'owner'),
    claimedAtMs: num(item, 'claimedAtMs'),
    alertedCount: num(item, 'alertedCount'),
    reportedCount: num(item, 'reportedCount'),
    messageRef: parseJson<MessageRef>(str(item, 'messageRef')),
    closeState: closeState === 'closing' || closeState === 'closed' ? closeState : undefined,
    closedBy: str(item, 'closedBy'),
    closingAtMs: num(item, 'closingAtMs'),
  };
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** A request still pending after this fails (SDK retries included), so a hung connection cannot stall alerting. */
export const ALERT_TABLE_TIMEOUT_MS = 5_000;

export class AlertStore {
  constructor(private readonly client: DynamoDBClient, readonly tableName: string, private readonly timeoutMs = ALERT_TABLE_TIMEOUT_MS) {}

  private send<T>(command: { readonly input: unknown }): Promise<T> {
    const send = this.client.send as (this: DynamoDBClient, c: unknown, o: { abortSignal: AbortSignal }) => Promise<T>;
    return send.call(this.client, command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
  }

  private update(key: string, expression: string, values: Item, options: { condition?: string; names?: Record<string, string>; returnAll?: boolean } = {}): Promise<Item | undefined> {
    return this.send<UpdateItemCommandOutput>(new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [ALERT_TABLE_KEY]: S(key) },
      UpdateExpression: expression,
      ExpressionAttributeValues: values,
      ...(options.names === undefined ? {} : { ExpressionAttributeNames: options.names }),
      ...(options.condition === undefined ? {} : { ConditionExpression: options.condition }),
      ...(options.returnAll ? { ReturnValues: 'ALL_NEW' } : {}),
    })).then((out) => out.Attributes);
  }

  /**
   * Opens a window for the fingerprint unless one is open: exactly one
   * replica gets `claimed: true`; the others learn the open window. The
   * claimer's occurrences are written into the window with its snapshot.
   */
  async claimWindow(input: { fingerprint: string; ruleId: string; nowMs: number; windowMs: number; owner: string; snapshot: AlertSnapshot; occurrences: Occurrences }): Promise<ClaimResult> {
    const { fingerprint, nowMs } = input;
    for (let attempt = 1; ; attempt++) {
      const closesAtMs = nowMs + input.windowMs;
      try {
        const head = await this.update(
          `fp#${fingerprint}`,
          'SET windowId = if_not_exists(windowId, :zero) + :one, openedAtMs = :now, closesAtMs = :closes, ruleId = :rule, expiresAt = :exp',
          { ':zero': N(0), ':one': N(1), ':now': N(nowMs), ':closes': N(closesAtMs), ':rule': S(input.ruleId), ':exp': expiresAt(closesAtMs) },
          { condition: `attribute_not_exists(${ALERT_TABLE_KEY}) OR closesAtMs <= :now`, returnAll: true },
        );
        const ref: WindowRef = { fingerprint, windowId: num(head ?? {}, 'windowId') ?? 1, ruleId: input.ruleId, openedAtMs: nowMs, closesAtMs };
        await this.writeWindow(ref, input.occurrences, input.snapshot, { owner: input.owner, nowMs });
        return { claimed: true, ref };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const head = await this.send<GetItemCommandOutput>(new GetItemCommand({ TableName: this.tableName, Key: { [ALERT_TABLE_KEY]: S(`fp#${fingerprint}`) }, ConsistentRead: true }));
      const item = head.Item;
      const windowId = item === undefined ? undefined : num(item, 'windowId');
      const closes = item === undefined ? undefined : num(item, 'closesAtMs');
      if (item !== undefined && windowId !== undefined && closes !== undefined && closes > nowMs) {
        return { claimed: false, ref: { fingerprint, windowId, ruleId: str(item, 'ruleId') ?? input.ruleId, openedAtMs: num(item, 'openedAtMs') ?? nowMs, closesAtMs: closes } };
      }
      // The window ended between the two calls (or the condition failure was not real): try again.
      if (attempt >= CLAIM_ATTEMPTS) throw new CaliError('CALI_ERR_ALERT_TABLE', `could not open or find the alert window of ${fingerprint} after ${attempt} attempts`);
      await sleep(20 * attempt);
    }
  }

  /**
   * Adds occurrences to a window (atomic ADD: replicas never overwrite each
   * other's counts). The first writer's snapshot stays, so a window always
   * has content to send even if its claimer died before writing it. Returns
   * the window as the write left it: closed means these occurrences came
   * after its digest.
   */
  async writeWindow(ref: WindowRef, occ: Occurrences, snapshot: AlertSnapshot | undefined, claim?: { owner: string; nowMs: number }): Promise<WindowRecord | undefined> {
    const values: Item = {
      ':fp': S(ref.fingerprint), ':id': N(ref.windowId), ':rule': S(ref.ruleId), ':opened': N(ref.openedAtMs), ':closes': N(ref.closesAtMs),
      ':n': N(occ.count), ':last': N(occ.lastSeenMs), ':first': N(occ.firstSeenMs), ':exp': expiresAt(ref.closesAtMs),
    };
    const set = [
      'fp = if_not_exists(fp, :fp)', 'windowId = if_not_exists(windowId, :id)', 'ruleId = if_not_exists(ruleId, :rule)',
      'openedAtMs = if_not_exists(openedAtMs, :opened)', 'closesAtMs = if_not_exists(closesAtMs, :closes)',
      'firstSeenMs = if_not_exists(firstSeenMs, :first)', 'lastSeenMs = :last', 'expiresAt = if_not_exists(expiresAt, :exp)',
    ];
    const names: Record<string, string> = { '#count': 'count' };
    if (snapshot !== undefined) {
      values[':snap'] = S(JSON.stringify(snapshot));
      set.push(claim === undefined ? 'alertJson = if_not_exists(alertJson, :snap)' : 'alertJson = :snap');
    }
    if (claim !== undefined) {
      names['#state'] = 'state';
      values[':claimed'] = S('claimed');
      values[':owner'] = S(claim.owner);
      values[':now'] = N(claim.nowMs);
      set.push('#state = :claimed', '#owner = :owner', 'claimedAtMs = :now');
      names['#owner'] = 'owner';
    }
    const add = ['#count :n'];
    if (occ.pods.length > 0) {
      values[':pods'] = { SS: [...new Set(occ.pods)] };
      add.push('pods :pods');
    }
    const item = await this.update(windowKey(ref.fingerprint, ref.windowId), `SET ${set.join(', ')} ADD ${add.join(', ')}`, values, { names, returnAll: true });
    return item === undefined ? undefined : recordOf(item);
  }

  /** The alert went out: never sent again; `alertedCount` occurrences were reported in it. */
  async markSent(ref: WindowRef, alertedCount: number, messageRef: MessageRef | undefined, nowMs: number): Promise<void> {
    const values: Item = { ':sent': S('sent'), ':count': N(alertedCount), ':now': N(nowMs) };
    let expression = 'SET #state = :sent, alertedCount = :count, reportedCount = :count, sentAtMs = :now';
    if (messageRef !== undefined) {
      values[':ref'] = S(JSON.stringify(messageRef));
      expression += ', messageRef = :ref';
    }
    await this.update(windowKey(ref.fingerprint, ref.windowId), expression, values, { names: { '#state': 'state' } });
  }

  /**
   * Takes over an alert that nobody sent: claimed longer than the claim
   * timeout ago, or written only by counting replicas (its claimer died
   * before writing it). Undefined: someone else has it, or it was sent.
   */
  async takeOver(ref: WindowRef, owner: string, nowMs: number, staleBeforeMs: number): Promise<WindowRecord | undefined> {
    try {
      const item = await this.update(
        windowKey(ref.fingerprint, ref.windowId),
        'SET #state = :claimed, #owner = :owner, claimedAtMs = :now ADD takeovers :one',
        { ':claimed': S('claimed'), ':owner': S(owner), ':now': N(nowMs), ':stale': N(staleBeforeMs), ':one': N(1) },
        {
          names: { '#state': 'state', '#owner': 'owner' },
          condition: `attribute_exists(${ALERT_TABLE_KEY}) AND ((attribute_not_exists(#state) AND openedAtMs < :stale) OR (#state = :claimed AND claimedAtMs < :stale))`,
          returnAll: true,
        },
      );
      return item === undefined ? undefined : recordOf(item);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Claims the close of a sent window whose end (plus grace) passed; a stale close (its closer died) can be claimed again. */
  async beginClose(ref: WindowRef, owner: string, nowMs: number, closeBeforeMs: number, staleBeforeMs: number): Promise<WindowRecord | undefined> {
    try {
      const item = await this.update(
        windowKey(ref.fingerprint, ref.windowId),
        'SET closeState = :closing, closedBy = :owner, closingAtMs = :now',
        { ':closing': S('closing'), ':owner': S(owner), ':now': N(nowMs), ':sent': S('sent'), ':before': N(closeBeforeMs), ':stale': N(staleBeforeMs) },
        {
          names: { '#state': 'state' },
          condition: '#state = :sent AND closesAtMs < :before AND (attribute_not_exists(closeState) OR (closeState = :closing AND closingAtMs < :stale))',
          returnAll: true,
        },
      );
      return item === undefined ? undefined : recordOf(item);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * After the closer reported the window up to `reportedCount` (its count
   * when read): closes it if the count is still that, otherwise records the
   * progress, renews the close (`nowMs` becomes the fencing token) and
   * returns the window to digest the rest. Both writes are conditional on
   * the close still being this closer's, and can be repeated after an
   * ambiguous failure (`nowMs` is accepted as the token too).
   */
  async finishClose(record: WindowRecord, reportedCount: number, nowMs: number): Promise<CloseOutcome> {
    const key = windowKey(record.ref.fingerprint, record.ref.windowId);
    const values: Item = {
      ':reported': N(reportedCount), ':digested': N(reportedCount - (record.alertedCount ?? reportedCount)),
      ':owner': S(record.closedBy ?? ''), ':token': N(record.closingAtMs ?? 0), ':renewed': N(nowMs),
    };
    const ours = 'closedBy = :owner AND closingAtMs IN (:token, :renewed)';
    try {
      await this.update(key, 'SET closeState = :closed, reportedCount = :reported, digestCount = :digested', { ...values, ':closed': S('closed') }, {
        names: { '#count': 'count' },
        condition: `#count = :reported AND ${ours}`,
      });
      return { state: 'closed' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    try {
      const item = await this.update(key, 'SET reportedCount = :reported, digestCount = :digested, closingAtMs = :renewed', values, { condition: ours, returnAll: true });
      const progressed = item === undefined ? undefined : recordOf(item);
      return progressed === undefined ? { state: 'fenced' } : { state: 'more', record: progressed };
    } catch (error) {
      if (isConditionFailure(error)) return { state: 'fenced' };
      throw error;
    }
  }

  /**
   * Reopens the close of a closed window that holds more than was reported
   * (a flush landed after its digest): the caller becomes its closer and
   * digests the rest. Undefined: nothing to report, or another replica has it.
   */
  async reopenClose(ref: WindowRef, owner: string, nowMs: number): Promise<WindowRecord | undefined> {
    try {
      const item = await this.update(
        windowKey(ref.fingerprint, ref.windowId),
        'SET closeState = :closing, closedBy = :owner, closingAtMs = :now',
        { ':closing': S('closing'), ':closed': S('closed'), ':owner': S(owner), ':now': N(nowMs) },
        { names: { '#count': 'count' }, condition: 'closeState = :closed AND #count > reportedCount', returnAll: true },
      );
      return item === undefined ? undefined : recordOf(item);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async getWindow(ref: Pick<WindowRef, 'fingerprint' | 'windowId'>): Promise<WindowRecord | undefined> {
    const out = await this.send<GetItemCommandOutput>(new GetItemCommand({ TableName: this.tableName, Key: { [ALERT_TABLE_KEY]: S(windowKey(ref.fingerprint, ref.windowId)) }, ConsistentRead: true }));
    return out.Item === undefined ? undefined : recordOf(out.Item);
  }

  /** Windows not closed yet, of every replica: what a sweep looks at. */
  openWindows(): Promise<WindowRecord[]> {
    return this.scanWindows(
      `begins_with(${ALERT_TABLE_KEY}, :win) AND (attribute_not_exists(closeState) OR closeState <> :closed)`,
      { ':win': S('win#'), ':closed': S('closed') },
      SCAN_PAGE_LIMIT,
    );
  }

  /** Adds to a threshold bucket and returns its total (all replicas). */
  async countThreshold(key: string, nowMs: number, withinMs: number, count: number): Promise<number> {
    const bucket = Math.floor(nowMs / withinMs);
    const item = await this.update(`thr#${key}#${bucket}`, 'ADD #count :n SET expiresAt = :exp', { ':n': N(count), ':exp': expiresAt((bucket + 1) * withinMs) }, { names: { '#count': 'count' }, returnAll: true });
    return num(item ?? {}, 'count') ?? count;
  }

  /** The window items of a fingerprint, for tests and `/status`-style inspection. */
  async windowsOf(fingerprint: string): Promise<WindowRecord[]> {
    const all = await this.scanWindows(`begins_with(${ALERT_TABLE_KEY}, :prefix)`, { ':prefix': S(`win#${fingerprint}#`) });
    return all.sort((a, b) => a.ref.windowId - b.ref.windowId);
  }

  /** The window items a consistent, filtered Scan finds, page after page (at most `maxPages`). */
  private async scanWindows(filter: string, values: Item, maxPages = Number.POSITIVE_INFINITY): Promise<WindowRecord[]> {
    const records: WindowRecord[] = [];
    let start: Item | undefined;
    for (let page = 0; page < maxPages; page++) {
      const out = await this.send<ScanCommandOutput>(new ScanCommand({
        TableName: this.tableName,
        FilterExpression: filter,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }));
      for (const item of out.Items ?? []) {
        const record = recordOf(item);
        if (record !== undefined) records.push(record);
      }
      start = out.LastEvaluatedKey;
      if (start === undefined) break;
    }
    return records;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Creates the alert table unless it exists, then waits until it is usable.
 * TTL is not enabled here: dynalite lacks UpdateTimeToLive; on AWS the table
 * comes from Terraform with TTL on `expiresAt` (docs/alerting.md).
 */
export async function createAlertTableIfMissing(client: DynamoDBClient, tableName: string, timeoutMs = 60_000): Promise<void> {
  const describe = async (): Promise<string | undefined> => {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const key = Table?.KeySchema?.[0];
      if (Table?.KeySchema?.length !== 1 || key?.AttributeName !== ALERT_TABLE_KEY || key.KeyType !== 'HASH') {
        throw new CaliError('CALI_ERR_ALERT_TABLE', `table "${tableName}" exists but is not an alert table (expected hash key ${ALERT_TABLE_KEY}): set CALI_ALERT_TABLE to another name`);
      }
      return Table.TableStatus;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      if (error instanceof CaliError) throw error;
      throw new CaliError('CALI_ERR_ALERT_TABLE', `cannot describe alert table "${tableName}": ${describeError(error)}`, { cause: error });
    }
  };
  if ((await describe()) === undefined) {
    try {
      await client.send(new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: ALERT_TABLE_KEY, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: ALERT_TABLE_KEY, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw new CaliError('CALI_ERR_ALERT_TABLE', `cannot create alert table "${tableName}": ${describeError(error)}`, { cause: error });
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
    const status = await describe();
    if (status === 'ACTIVE' || status === 'UPDATING') return;
    if (Date.now() > deadline) throw new CaliError('CALI_ERR_ALERT_TABLE', `alert table "${tableName}" is still ${status ?? 'missing'} after ${timeoutMs} ms`);
    await sleep(delay);
  }
}
