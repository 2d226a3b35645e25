/** The search sink's event catalogue, one event per bulk request (never per document); metrics and logs listen. */
import { EventEmitter } from 'node:events';

export interface SearchEvents {
  /** A bulk request answered: how its items ended (retried items are counted again in the request that retries them). */
  'bulk.completed': [{ index: string; documents: number; indexed: number; retried: number; rejected: number; bytes: number; durationMs: number }];
  /** A whole bulk request failed (network, 429/5xx for the request, timeout); retriable ones are tried again. */
  'bulk.failed': [{ documents: number; error: string; retriable: boolean; durationMs: number }];
  /** Documents the cluster refused for good (mapping errors): they went to the DLQ with the reason. */
  'documents.rejected': [{ documents: number; reason: string }];
}

export class SearchEventBus extends EventEmitter<SearchEvents> {}
