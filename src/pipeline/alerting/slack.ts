/**
 * Slack destinations. An incoming webhook is one documented HTTP POST, sent
 * with fetch so that the status, the Retry-After header and the error code in
 * the body are all ours to read. A bot token goes through Slack's official
 * Web API client with its own retries and queue turned off (the delivery
 * queue owns retries and pacing): chat.postMessage for alerts, into the
 * alert's thread for repeats and late analyses, chat.update for the root's
 * count. Errors become DeliveryError with Slack's error code; the URL and the
 * token never appear in one.
 */
import { WebClient, type Logger as SlackLogger, LogLevel, ErrorCode as SlackErrorCode } from '@slack/web-api';
import { DeliveryError, type Destination, type MessageRef, type OutboundMessage } from './delivery.js';

const CODE = /^[a-z][a-z0-9_]{0,63}$/;

/** Slack Web API codes worth another attempt. */
const RETRIABLE_API_CODES = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited', 'rate_limited']);

function transportCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { code?: unknown } | undefined)?.code;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? code : 'network_error';
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export class WebhookDestination implements Destination {
  readonly name = 'slack-webhook';
  readonly threads = false;

  constructor(private readonly url: string, private readonly timeoutMs: number) {}

  async deliver(message: OutboundMessage, signal: AbortSignal): Promise<MessageRef | undefined> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ text: message.text, blocks: message.blocks }),
        redirect: 'error',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      });
    } catch (error) {
      throw new DeliveryError(transportCode(error), true);
    }
    const body = (await response.text().catch(() => '')).trim();
    if (response.ok) return undefined;
    if (response.status === 429) throw new DeliveryError('rate_limited', true, retryAfterMs(response.headers.get('retry-after')) ?? 1000);
    const code = CODE.test(body) ? body : `http_${response.status}`;
    throw new DeliveryError(code, response.status >= 500);
  }
}

const SILENT: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

export interface BotDestinationOptions {
  readonly token: string;
  readonly channel: string;
  readonly timeoutMs: number;
  /** Slack's API base (tests: a stand-in server on loopback). */
  readonly apiUrl?: string | undefined;
}

function botError(error: unknown): DeliveryError {
  const coded = error as { code?: unknown; retryAfter?: unknown; data?: { error?: unknown }; statusCode?: unknown; original?: unknown };
  switch (coded.code) {
    case SlackErrorCode.RateLimitedError:
      return new DeliveryError('rate_limited', true, typeof coded.retryAfter === 'number' ? coded.retryAfter * 1000 : 1000);
    case SlackErrorCode.PlatformError: {
      const code = typeof coded.data?.error === 'string' && CODE.test(coded.data.error) ? coded.data.error : 'platform_error';
      return new DeliveryError(code, RETRIABLE_API_CODES.has(code));
    }
    case SlackErrorCode.HTTPError: {
      const status = typeof coded.statusCode === 'number' ? coded.statusCode : 0;
      return new DeliveryError(`http_${status}`, status >= 500 || status === 0);
    }
    case SlackErrorCode.RequestError:
      return new DeliveryError(transportCode(coded.original), true);
    default:
      return new DeliveryError(transportCode(error), true);
  }
}

/** One per channel: Slack paces chat.postMessage per channel. */
export class BotDestination implements Destination {
  readonly name: string;
  readonly threads = true;

  constructor(private readonly client: WebClient, readonly channel: string) {
    this.name = `slack:${channel}`;
  }

  static client(options: Omit<BotDestinationOptions, 'channel'>): WebClient {
    return new WebClient(options.token, {
      ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs,
      logger: SILENT,
      logLevel: LogLevel.ERROR,
    });
  }

  async deliver(message: OutboundMessage, signal: AbortSignal): Promise<MessageRef | undefined> {
    const blocks = message.blocks as never;
    let call: Promise<{ channel?: string | undefined; ts?: string | undefined }>;
    if (message.replaces !== undefined) {
      call = this.client.chat.update({ channel: message.replaces.channel, ts: message.replaces.ts, text: message.text, blocks });
    } else if (message.threadOf !== undefined) {
      call = this.client.chat.postMessage({ channel: message.threadOf.channel, thread_ts: message.threadOf.ts, text: message.text, blocks, unfurl_links: false });
    } else {
      call = this.client.chat.postMessage({ channel: this.channel, text: message.text, blocks, unfurl_links: false, unfurl_media: false });
    }
    let aborted: (() => void) | undefined;
    const abort = new Promise<never>((_resolve, reject) => {
      aborted = () => reject(new DeliveryError('shutdown', false));
      signal.addEventListener('abort', aborted, { once: true });
    });
    try {
      const result = await Promise.race([call, abort]);
      const channel = result.channel ?? message.replaces?.channel ?? message.threadOf?.channel ?? this.channel;
      return result.ts === undefined ? undefined : { channel, ts: result.ts };
    } catch (error) {
      throw error instanceof DeliveryError ? error : botError(error);
    } finally {
      if (aborted) signal.removeEventListener('abort', aborted);
      call.catch(() => undefined);
    }
  }
}
