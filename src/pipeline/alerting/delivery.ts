/**
 * Delivery to one destination (a webhook, a bot channel, the console): a
 * bounded queue drained one message at a time, at most one message per
 * `minIntervalMs` (Slack allows about one per second per channel). A 429
 * waits its Retry-After (the whole destination waits: the limit is the
 * destination's); 5xx and network errors are retried with jittered
 * exponential backoff up to `maxAttempts`; any other 4xx is final and
 * reported by its error code only. A message that cannot be delivered is
 * dropped with a reason; the engine keeps its window unsent in the alert
 * table, so another attempt (here or on another replica) is made later.
 */
import { sleep } from '../../sleep.js';
import type { AlertEventBus, DropReason } from './events.js';
import type { RenderedMessage } from './message.js';

/** Where a message went, for thread replies and updates (Slack: channel id and ts). */
export interface MessageRef {
  readonly channel: string;
  readonly ts: string;
}

export interface OutboundMessage extends RenderedMessage {
  /** Post into the thread of this message (bot token). */
  readonly threadOf?: MessageRef | undefined;
  /** Replace this message (chat.update). */
  readonly replaces?: MessageRef | undefined;
}

/** Why one attempt failed; `code` is Slack's error code or a transport code, never a URL or token. */
export class DeliveryError extends Error {
  constructor(readonly code: string, readonly retriable: boolean, readonly retryAfterMs?: number) {
    super(code);
    this.name = 'DeliveryError';
  }
}

export interface Destination {
  /** For events and logs: `slack-webhook`, `slack:#channel`, `console`. */
  readonly name: string;
  /** Whether thread replies and updates are possible (a webhook can only post). */
  readonly threads: boolean;
  deliver(message: OutboundMessage, signal: AbortSignal): Promise<MessageRef | undefined>;
}

export type DeliveryOutcome =
  | { readonly status: 'sent'; readonly ref: MessageRef | undefined }
  | { readonly status: 'dropped'; readonly reason: DropReason };

export interface DeliveryOptions {
  readonly minIntervalMs: number;
  readonly queueSize: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Longest Retry-After honoured; a longer one is waited in pieces so shutdown stays responsive. */
  readonly maxRetryAfterMs?: number;
}

/** Slack codes that say the message itself is bad (dropped as payload_invalid, not rejected). */
const PAYLOAD_CODES = new Set(['invalid_payload', 'invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'too_many_attachments', 'invalid_arguments', 'no_text']);

interface Pending {
  readonly message: OutboundMessage;
  readonly enqueuedAt: number;
  readonly resolve: (outcome: DeliveryOutcome) => void;
}

export class DeliveryQueue {
  private readonly queue: Pending[] = [];
  private running = false;
  private nextSendAt = 0;
  private readonly abort = new AbortController();
  private idle: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(readonly destination: Destination, private readonly options: DeliveryOptions, private readonly events: AlertEventBus) {}

  get depth(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  send(message: OutboundMessage): Promise<DeliveryOutcome> {
    if (this.closed || this.queue.length >= this.options.queueSize) {
      const reason: DropReason = this.closed ? 'shutdown' : 'queue_full';
      this.events.emit('alert.dropped', { destination: this.destination.name, kind: message.kind, reason });
      return Promise.resolve({ status: 'dropped', reason });
    }
    return new Promise((resolve) => {
      this.queue.push({ message, enqueuedAt: performance.now(), resolve });
      if (!this.running) {
        this.running = true;
        this.idle = this.drain();
      }
    });
  }

  /**
   * Sends what it can until `deadline` (performance.now() ms), then drops the
   * rest with reason `shutdown`.
   */
  async close(deadline: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => this.abort.abort(), Math.max(0, deadline - performance.now()));
    try {
      // A destination that ignores the abort cannot hold shutdown past the deadline (plus a moment to settle).
      await Promise.race([this.idle, sleep(Math.max(0, deadline - performance.now()) + 100)]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        if (this.abort.signal.aborted) {
          item.resolve(this.drop(item.message, 'shutdown'));
          continue;
        }
        item.resolve(await this.deliver(item));
      }
    } finally {
      this.running = false;
    }
  }

  private drop(message: OutboundMessage, reason: DropReason): DeliveryOutcome {
    this.events.emit('alert.dropped', { destination: this.destination.name, kind: message.kind, reason });
    return { status: 'dropped', reason };
  }

  private async deliver(item: Pending): Promise<DeliveryOutcome> {
    const { message } = item;
    const name = this.destination.name;
    const base = this.options.backoffBaseMs ?? 500;
    const cap = this.options.backoffMaxMs ?? 15_000;
    for (let attempt = 1; ; attempt++) {
      const wait = this.nextSendAt - performance.now();
      if (wait > 0) await sleep(wait, this.abort.signal);
      if (this.abort.signal.aborted) return this.drop(message, 'shutdown');
      this.nextSendAt = performance.now() + this.options.minIntervalMs;
      try {
        const ref = await this.destination.deliver(message, this.abort.signal);
        this.events.emit('alert.sent', { destination: name, kind: message.kind, severity: message.severity, fingerprint: message.fingerprint, latencyMs: performance.now() - item.enqueuedAt });
        return { status: 'sent', ref };
      } catch (error) {
        if (this.abort.signal.aborted) return this.drop(message, 'shutdown');
        const failure = error instanceof DeliveryError ? error : new DeliveryError('internal_error', false);
        const retriable = failure.retriable && attempt < this.options.maxAttempts;
        this.events.emit('alert.failed', { destination: name, kind: message.kind, error: failure.code, retriable });
        if (!retriable) return this.drop(message, !failure.retriable && PAYLOAD_CODES.has(failure.code) ? 'payload_invalid' : 'rejected');
        const backoff = Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        const delay = failure.retryAfterMs === undefined ? backoff : Math.min(failure.retryAfterMs, this.options.maxRetryAfterMs ?? 120_000);
        this.nextSendAt = Math.max(this.nextSendAt, performance.now() + delay);
      }
    }
  }
}
