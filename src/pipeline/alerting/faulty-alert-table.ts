/**
 * Fault injection for the alert table, in the style of
 * src/lease/faulty-lease-store.ts: a real DynamoDBClient whose conditional
 * window claims fail client-side, either before the write (a spurious lost
 * race) or after it (an ambiguous write: the claim landed, the caller sees a
 * condition failure and believes another replica has the window). Throttling
 * comes from injectDynamoDbFaults on the same client. Seeded: the same seed
 * and sequence of calls give the same faults.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { seededRandom } from '../../lease/faulty-lease-store.js';

const MIDDLEWARE = 'caliAlertTableFaults';

export interface AlertTableFaultOptions {
  readonly seed: number;
  /** Probability that a window claim fails its condition without being written. */
  readonly conditionFailureRate?: number;
  /** Probability that a window claim is written and then reported as a condition failure. */
  readonly ambiguousRate?: number;
}

export interface AlertTableFaultInjection {
  /** Claims failed so far (both kinds). */
  readonly injected: number;
  remove(): void;
}

export function injectAlertTableFaults(client: DynamoDBClient, options: AlertTableFaultOptions): AlertTableFaultInjection {
  const random = seededRandom(options.seed);
  const failRate = options.conditionFailureRate ?? 0;
  const ambiguousRate = options.ambiguousRate ?? 0;
  if (!(failRate >= 0 && ambiguousRate >= 0 && failRate + ambiguousRate <= 1)) throw new RangeError('injectAlertTableFaults: rates must be within [0, 1] and add up to at most 1');
  const state = { injected: 0 };
  const failure = (): ConditionalCheckFailedException => new ConditionalCheckFailedException({ message: 'The conditional request failed (injected fault)', $metadata: { httpStatusCode: 400 } });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } }; ConditionExpression?: string };
      const isClaim = context.commandName === 'UpdateItemCommand' && input.ConditionExpression !== undefined && input.Key?.pk?.S?.startsWith('fp#') === true;
      if (!isClaim) return next(args);
      const roll = random();
      if (roll < failRate) {
        state.injected++;
        throw failure();
      }
      if (roll < failRate + ambiguousRate) {
        await next(args);
        state.injected++;
        throw failure();
      }
      return next(args);
    },
    { step: 'initialize', name: MIDDLEWARE },
  );
  return {
    get injected() {
      return state.injected;
    },
    remove: () => {
      client.middlewareStack.remove(MIDDLEWARE);
    },
  };
}
