/**
 * What stands between the analyzer and a paid, rate-limited API: a circuit
 * breaker, a rate limiter that follows the API's own rate-limit headers, a
 * concurrency limit, a per-attempt timeout, bounded retries for retriable
 * errors only, and an hourly spend meter. One `GuardedApi` per endpoint
 * (embeddings, chat), so a failing chat model does not stop embeddings.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { sleep } from '../../sleep.js';
import { Semaphore } from '../semaphore.js';
import type { CircuitState, RagCall, RagErrorKind, RagEventBus } from './events.js';

/** Thrown when a call is not made at all; the analyzer degrades instead of failing. */
export class RagSkippedError extends Error {
  constructor(readonly reason: 'circuit_open' | 'spend_cap') {
    super(`call skipped: ${reason}`);
    this.name = 'RagSkippedError';
  }
}

/** The final error of a call after its retries, with its class. Never carries a key or a URL. */
export class RagCallError extends Error {
  constructor(readonly kind: RagErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RagCallError';
  }
}

export interface CircuitBreakerOptions {
  /** Consecutive failed calls that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit refuses calls before one trial call. */
  readonly cooldownMs: number;
  readonly now?: () => number;
}

/** Closed -> (N consecutive failures) -> open -> (cool-down) -> half-open: one trial; success closes, failure reopens. */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #now: () => number;

  constructor(private readonly options: CircuitBreakerOptions, private readonly onChange: (state: CircuitState) => void = () => {}) {
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** May a call go out now? In half-open state only one trial at a time. */
  tryAcquire(): boolean {
    if (this.#state === 'open') {
      if (this.#now() - this.#openedAt < this.options.cooldownMs) return false;
      this.#set('half_open');
    }
    if (this.#state === 'half_open') {
      if (this.#trialInFlight) return false;
      this.#trialInFlight = true;
    }
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#trialInFlight = false;
    this.#failures++;
    if (this.#state === 'half_open' || (this.#state === 'closed' && this.#failures >= this.options.failureThreshold)) {
      this.#openedAt = this.#now();
      this.#set('open');
    }
  }

  /** A call that ended without a verdict (the caller aborted): free the trial slot. */
  release(): void {
    this.#trialInFlight = false;
  }

  #set(state: CircuitState): void {
    this.#state = state;
    this.onChange(state);
  }
}

/** `6m0s`, `1.5s`, `250ms`, `20` (seconds) -> milliseconds; undefined when unreadable. */
export function parseResetDuration(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true;
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return matched ? total : undefined;
}

/** `retry-after-ms`, else `retry-after` as seconds or an HTTP date; undefined when absent. */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export interface RateLimitOptions {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly now?: () => number;
}

/**
 * Two token buckets (requests, tokens) refilled continuously from the
 * configured per-minute limits. The API's headers correct them: when it says
 * fewer remain, we believe it; when it says none remain (or sends
 * retry-after), nothing goes out until its reset time.
 */
export class RateLimiter {
  #requests: number;
  #tokens: number;
  #last: number;
  #blockedUntil = 0;
  readonly #now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.#now = options.now ?? Date.now;
    this.#requests = options.requestsPerMinute;
    this.#tokens = options.tokensPerMinute;
    this.#last = this.#now();
  }

  get blockedUntil(): number {
    return this.#blockedUntil;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#last;
    this.#last = now;
    this.#requests = Math.min(this.options.requestsPerMinute, this.#requests + (elapsed * this.options.requestsPerMinute) / 60_000);
    this.#tokens = Math.min(this.options.tokensPerMinute, this.#tokens + (elapsed * this.options.tokensPerMinute) / 60_000);
  }

  /** Milliseconds to wait before a call of `tokens` may go out; 0 takes the tokens now. */
  reserve(tokens: number): number {
    this.#refill();
    const now = this.#now();
    if (now < this.#blockedUntil) return this.#blockedUntil - now;
    const wanted = Math.min(tokens, this.options.tokensPerMinute);
    if (this.#requests >= 1 && this.#tokens >= wanted) {
      this.#requests -= 1;
      this.#tokens -= wanted;
      return 0;
    }
    const requestWait = this.#requests >= 1 ? 0 : ((1 - this.#requests) * 60_000) / this.options.requestsPerMinute;
    const tokenWait = this.#tokens >= wanted ? 0 : ((wanted - this.#tokens) * 60_000) / this.options.tokensPerMinute;
    return Math.max(1, Math.ceil(Math.max(requestWait, tokenWait)));
  }

  /** Reads `x-ratelimit-remaining-{requests,tokens}` / `x-ratelimit-reset-*` and `retry-after`. */
  observe(headers: Headers | undefined): void {
    if (!headers) return;
    this.#refill();
    const now = this.#now();
    for (const [kind, key] of [['requests', '#requests'], ['tokens', '#tokens']] as const) {
      const remainingRaw = headers.get(`x-ratelimit-remaining-${kind}`);
      if (remainingRaw === null) continue;
      const remaining = Number(remainingRaw);
      if (!Number.isFinite(remaining)) continue;
      if (key === '#requests') this.#requests = Math.min(this.#requests, remaining);
      else this.#tokens = Math.min(this.#tokens, remaining);
      if (remaining <= 0) {
        const reset = parseResetDuration(headers.get(`x-ratelimit-reset-${kind}`)) ?? 1000;
        this.#blockedUntil = Math.max(this.#blockedUntil, now + reset);
      }
    }
    const retryAfter = retryAfterMs(headers, now);
    if (retryAfter !== undefined) this.#blockedUntil = Math.max(this.#blockedUntil, now + retryAfter);
  }
}

export interface SpendMeterOptions {
  /** Estimated tokens per rolling hour after which LLM calls stop; 0 = no LLM calls. */
  readonly capTokensPerHour: number;
  /** For the spend estimate only. */
  readonly usdPerMillionTokens: number;
  readonly now?: () => number;
}

/** Tokens used in the last hour, in one-minute buckets (60 numbers, whatever the traffic). */
export class SpendMeter {
  readonly #buckets = new Float64Array(60);
  readonly #minutes = new Float64Array(60).fill(-1);
  readonly #now: () => number;

  constructor(readonly options: SpendMeterOptions) {
    this.#now = options.now ?? Date.now;
  }

  tokensLastHour(): number {
    const minute = Math.floor(this.#now() / 60_000);
    let sum = 0;
    for (let i = 0; i < 60; i++) if (this.#minutes[i]! > minute - 60) sum += this.#buckets[i]!;
    return sum;
  }

  /** Would `estimate` more tokens pass the cap? */
  wouldExceed(estimate: number): boolean {
    return this.tokensLastHour() + estimate > this.options.capTokensPerHour;
  }

  record(tokens: number): void {
    const minute = Math.floor(this.#now() / 60_000);
    const slot = minute % 60;
    if (this.#minutes[slot] !== minute) {
      this.#minutes[slot] = minute;
      this.#buckets[slot] = 0;
    }
    this.#buckets[slot]! += tokens;
  }

  estimatedUsd(tokens: number): number {
    return (tokens * this.options.usdPerMillionTokens) / 1_000_000;
  }
}

/** About four characters per token for English and log text: what we meter before the API reports usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function classifyError(error: unknown): { kind: RagErrorKind; retriable: boolean; headers: Headers | undefined } {
  if (error instanceof RagCallError) return { kind: error.kind, retriable: error.kind !== 'client' && error.kind !== 'aborted', headers: undefined };
  if (error instanceof APIUserAbortError) return { kind: 'aborted', retriable: false, headers: undefined };
  if (error instanceof APIConnectionTimeoutError) return { kind: 'timeout', retriable: true, headers: undefined };
  if (error instanceof APIConnectionError) return { kind: 'connection', retriable: true, headers: undefined };
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    const headers = error.headers instanceof Headers ? error.headers : undefined;
    if (status === 429) return { kind: 'rate_limited', retriable: true, headers };
    if (status === 408 || status === 409 || status >= 500) return { kind: 'server', retriable: true, headers };
    return { kind: 'client', retriable: false, headers };
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return { kind: 'timeout', retriable: true, headers: undefined };
  // Anything else is a bug in our code (TypeError, RangeError): never retried.
  return { kind: 'client', retriable: false, headers: undefined };
}

export interface GuardedApiOptions {
  readonly call: RagCall;
  readonly provider: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
  readonly breaker: CircuitBreakerOptions;
  readonly rateLimit: RateLimitOptions;
  /** Present for metered calls: the cap stops them. */
  readonly spend?: SpendMeter;
  readonly events: RagEventBus;
  /** First retry delay when the API gave no retry-after; doubles per attempt. */
  readonly backoffMs?: number;
}

export interface AttemptResult<T> {
  readonly value: T;
  readonly headers: Headers | undefined;
}

export class GuardedApi {
  readonly breaker: CircuitBreaker;
  readonly limiter: RateLimiter;
  readonly #slots: Semaphore;

  constructor(private readonly options: GuardedApiOptions) {
    this.breaker = new CircuitBreaker(options.breaker, (state) => options.events.emit('rag.circuit', { call: options.call, state }));
    this.limiter = new RateLimiter(options.rateLimit);
    this.#slots = new Semaphore(options.concurrency);
  }

  /**
   * Runs `attempt` under every guard. `estimatedTokens` feeds the rate limiter
   * and the spend cap. Throws RagSkippedError when the circuit is open or the
   * cap is reached, RagCallError after the last failed attempt, or the
   * signal's reason on abort.
   */
  async run<T>(estimatedTokens: number, items: number, attempt: (signal: AbortSignal) => Promise<AttemptResult<T>>, signal?: AbortSignal): Promise<T> {
    const { call, provider, events } = this.options;
    if (this.options.spend?.wouldExceed(estimatedTokens)) {
      events.emit('rag.skipped', { call, reason: 'spend_cap' });
      throw new RagSkippedError('spend_cap');
    }
    const started = performance.now();
    await this.#slots.acquire(signal);
    let attempts = 0;
    try {
      for (;;) {
        if (!this.breaker.tryAcquire()) {
          events.emit('rag.skipped', { call, reason: 'circuit_open' });
          throw new RagSkippedError('circuit_open');
        }
        let wait: number;
        while ((wait = this.limiter.reserve(estimatedTokens)) > 0) {
          await sleep(wait, signal);
          if (signal?.aborted) {
            this.breaker.release();
            throw signal.reason;
          }
        }
        attempts++;
        const timeout = AbortSignal.timeout(this.options.timeoutMs);
        const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
        try {
          const result = await attempt(attemptSignal);
          this.limiter.observe(result.headers);
          this.breaker.success();
          events.emit('rag.request', { call, provider, outcome: 'ok', latencyMs: performance.now() - started, items, attempts });
          return result.value;
        } catch (error) {
          if (signal?.aborted) {
            this.breaker.release();
            throw signal.reason;
          }
          const classified = timeout.aborted ? { kind: 'timeout' as const, retriable: true, headers: undefined } : classifyError(error);
          this.limiter.observe(classified.headers);
          if (classified.kind !== 'client') this.breaker.failure();
          else this.breaker.success();
          const retry = classified.retriable && attempts < this.options.maxAttempts;
          events.emit('rag.error', { call, provider, error: classified.kind, retriable: retry });
          if (!retry) {
            events.emit('rag.request', { call, provider, outcome: 'error', latencyMs: performance.now() - started, items, attempts });
            throw error instanceof RagCallError ? error : new RagCallError(classified.kind, `${call} call failed (${classified.kind})`, { cause: error });
          }
          const hinted = retryAfterMs(classified.headers);
          await sleep(hinted ?? (this.options.backoffMs ?? 250) * 2 ** (attempts - 1), signal);
          if (signal?.aborted) throw signal.reason;
        }
      }
    } finally {
      this.#slots.release();
    }
  }
}
