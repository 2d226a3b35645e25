/**
 * What the OpenSearch sink retries. A bulk response is a partial failure
 * when items failed: 429 and 5xx items are retried (only those, with the
 * shared full-jitter backoff); any other 4xx item (a mapping error, a
 * document too large) will never succeed and goes to the DLQ with its reason.
 * A whole request that failed is retried when the cause is transient
 * (connection, timeout, 429, 5xx); 401/403/413 and the like need an operator.
 */
export type ItemOutcome = 'indexed' | 'retry' | 'reject';

export function classifyItemStatus(status: number): ItemOutcome {
  if (status >= 200 && status < 300) return 'indexed';
  if (status === 429 || status >= 500) return 'retry';
  return 'reject';
}

export interface RequestFailure {
  readonly retriable: boolean;
  /** A code and the server's error type: no URL, no credentials. */
  readonly reason: string;
}

export function classifyRequestError(error: unknown): RequestFailure {
  const e = error as { name?: unknown; statusCode?: unknown; meta?: { statusCode?: unknown; body?: unknown } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.meta?.statusCode === 'number' ? e.meta.statusCode : undefined;
  if (status !== undefined) {
    const type = errorTypeOf(e.meta?.body);
    return { retriable: status === 429 || status >= 500, reason: `HTTP ${status}${type === undefined ? '' : ` ${type}`}` };
  }
  // ConnectionError, TimeoutError, NoLivingConnectionsError, RequestAbortedError: the cluster may come back.
  const retriable = name !== 'ConfigurationError' && name !== 'SerializationError' && name !== 'DeserializationError';
  return { retriable, reason: name };
}

function errorTypeOf(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === 'string') return error.slice(0, 200);
  const type = (error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** An item's error as the DLQ reason: type and reason from the cluster, bounded. */
export function itemErrorText(error: unknown): string {
  const e = error as { type?: unknown; reason?: unknown; caused_by?: { type?: unknown; reason?: unknown } } | undefined;
  const parts = [e?.type, e?.reason, e?.caused_by?.type, e?.caused_by?.reason].filter((p): p is string => typeof p === 'string');
  const text = parts.join(': ') || 'rejected';
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}
