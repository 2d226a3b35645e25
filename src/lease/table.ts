/**
 * The lease table, in the KCL 2.x schema: one item per shard keyed by the
 * string attribute `leaseKey`. The table is named after the application
 * (CALI_APP_NAME), as KCL names it after its applicationName.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { CaliError } from '../errors.js';

export const LEASE_KEY_ATTRIBUTE = 'leaseKey';

const DEFAULT_TIMEOUT_MS = 120_000;
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 5_000;

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw new CaliError('CALI_ERR_LEASE_TABLE', `cannot describe lease table "${tableName}": ${describeError(error)}`, {
      cause: error,
    });
  }
}

function assertLeaseSchema(table: TableDescription, tableName: string): void {
  const keys = table.KeySchema ?? [];
  const key = keys[0];
  if (keys.length !== 1 || key?.AttributeName !== LEASE_KEY_ATTRIBUTE || key.KeyType !== 'HASH') {
    const found = keys.map((k) => `${k.AttributeName} ${k.KeyType}`).join(', ');
    throw new CaliError(
      'CALI_ERR_LEASE_TABLE',
      `table "${tableName}" exists but is not a lease table (key schema: ${found}, expected ${LEASE_KEY_ATTRIBUTE} HASH); ` +
        'choose another application name (CALI_APP_NAME)',
    );
  }
}

/**
 * Creates the lease table unless it exists (made by another replica, an
 * earlier run or Terraform), then waits until it is usable. Describing first
 * means a deployment whose role lacks dynamodb:CreateTable works when the
 * table is provisioned ahead.
 */
export async function createLeaseTableIfMissing(
  client: DynamoDBClient,
  tableName: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  if ((await describe(client, tableName)) === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: LEASE_KEY_ATTRIBUTE, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: LEASE_KEY_ATTRIBUTE, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      // Another replica won the race: its table is as good as ours.
      if (!(error instanceof ResourceInUseException)) {
        throw new CaliError('CALI_ERR_LEASE_TABLE', `cannot create lease table "${tableName}": ${describeError(error)}`, {
          cause: error,
        });
      }
    }
  }

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const table = await describe(client, tableName);
    if (table !== undefined) {
      assertLeaseSchema(table, tableName);
      // UPDATING (e.g. an operator changing capacity) still serves reads and writes.
      if (table.TableStatus === 'ACTIVE' || table.TableStatus === 'UPDATING') return;
    }
    if (Date.now() > deadline) {
      throw new CaliError(
        'CALI_ERR_LEASE_TABLE',
        `lease table "${tableName}" is still ${table?.TableStatus ?? 'missing'} after ${timeoutMs} ms`,
      );
    }
    await sleep(delay);
  }
}
