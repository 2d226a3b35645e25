/**
 * The raw log line format every simulated service prints (one company-wide
 * logging pattern for Logback and Python logging), and therefore what the Fluent
 * Bit header parser in fluent-bit/parsers.yaml must read:
 *
 *   2026-11-29T14:30:57.123Z ERROR [order-service] [http-nio-8080-exec-7] com.acme.orders.service.OrderService trace=4bf9... span=00f0... req=7c1e... - Order validation failed
 *   <stack trace lines...>
 *
 * The level is left-padded to five characters, as Logback's `%-5level` does.
 */
export interface LogHeader {
  readonly timestamp: string;
  readonly level: string;
  readonly service: string;
  readonly thread: string;
  readonly logger: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly requestId: string;
  readonly message: string;
}

export function formatHeader(h: LogHeader): string {
  return `${h.timestamp} ${h.level.padEnd(5)} [${h.service}] [${h.thread}] ${h.logger} trace=${h.traceId} span=${h.spanId} req=${h.requestId} - ${h.message}`;
}

/** Millisecond ISO-8601 in UTC, the pattern `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`. */
export function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
