/**
 * The shard reader's defaults, apart from the reader so that configuration
 * can name them without importing the Kinesis client (the IAM tests derive
 * each command's AWS calls from what it imports).
 */

/** GetRecords' Limit: the most AWS allows. */
export const DEFAULT_MAX_RECORDS = 10_000;

/**
 * Pause between reads once the shard is caught up. AWS allows 5 GetRecords
 * per second per shard, shared by every application reading it: 250 ms
 * keeps one application at 4/s and the end-to-end latency low.
 */
export const DEFAULT_IDLE_MS = 250;
