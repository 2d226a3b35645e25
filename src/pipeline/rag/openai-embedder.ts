/**
 * OpenAI embeddings: one request carries many inputs (the API takes an array),
 * with `dimensions` set so the vectors fit the collection. Every call goes
 * through the embeddings guard (timeout, retries on 429/5xx honouring
 * retry-after, circuit breaker, rate limiter) and is metered.
 */
import type OpenAI from 'openai';
import { normalise, type Embedder } from './embedder.js';
import type { RagEventBus } from './events.js';
import { estimateTokens, RagCallError, type GuardedApi, type SpendMeter } from './resilience.js';

export interface OpenAIEmbedderOptions {
  readonly client: OpenAI;
  readonly model: string;
  readonly dimensions: number;
  readonly guard: GuardedApi;
  readonly spend: SpendMeter;
  readonly events: RagEventBus;
}

export class OpenAIEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension: number;

  constructor(private readonly options: OpenAIEmbedderOptions) {
    this.modelId = `openai:${options.model}:${options.dimensions}`;
    this.dimension = options.dimensions;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const { client, model, dimensions, guard, spend, events } = this.options;
    const estimate = texts.reduce((sum, t) => sum + estimateTokens(t), 0);
    const response = await guard.run(estimate, texts.length, async (attemptSignal) => {
      const { data, response: raw } = await client.embeddings
        .create({ model, input: [...texts], dimensions, encoding_format: 'float' }, { signal: attemptSignal, maxRetries: 0 })
        .withResponse();
      return { value: data, headers: raw.headers };
    }, signal);
    const vectors: Float32Array[] = new Array<Float32Array>(texts.length);
    for (const item of response.data ?? []) {
      if (!Array.isArray(item.embedding) || item.embedding.length !== dimensions || item.index < 0 || item.index >= texts.length) {
        throw new RagCallError('malformed', `embeddings response item ${item.index} has ${Array.isArray(item.embedding) ? item.embedding.length : 'no'} dimensions, expected ${dimensions}`);
      }
      vectors[item.index] = normalise(Float32Array.from(item.embedding));
    }
    for (let i = 0; i < texts.length; i++) if (!vectors[i]) throw new RagCallError('malformed', `embeddings response has no vector for input ${i}`);
    const tokens = response.usage?.prompt_tokens;
    const used = typeof tokens === 'number' ? tokens : estimate;
    spend.record(used);
    events.emit('rag.tokens', { call: 'embedding', model, promptTokens: used, completionTokens: 0, estimated: typeof tokens !== 'number', estimatedUsd: spend.estimatedUsd(used) });
    const hour = spend.tokensLastHour();
    events.emit('rag.spend', { tokensLastHour: hour, capTokensPerHour: spend.options.capTokensPerHour, estimatedUsdLastHour: spend.estimatedUsd(hour) });
    return vectors;
  }
}

export interface CoalescerOptions {
  /** How long the first request waits for company. */
  readonly windowMs: number;
  /** A batch this large goes out at once. */
  readonly maxBatch: number;
  readonly events: RagEventBus;
}

interface Pending {
  readonly text: string;
  readonly resolve: (vector: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Merges embedding requests that arrive within a short window into one call
 * (a storm opens many fingerprint windows at once: one request instead of
 * dozens). The batch's call is not tied to any one caller's signal: a caller
 * that gives up stops waiting, the others still get their vectors.
 */
export class CoalescingEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension: number;
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #openedAt = 0;

  constructor(private readonly inner: Embedder, private readonly options: CoalescerOptions) {
    this.modelId = inner.modelId;
    this.dimension = inner.dimension;
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return Promise.all(texts.map((text) => this.#one(text, signal)));
  }

  #one(text: string, signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Float32Array>((resolve, reject) => {
      const onAbort = (): void => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending.push({ text, resolve: (v) => { done(); resolve(v); }, reject: (e) => { done(); reject(e); } });
      if (this.#pending.length >= this.options.maxBatch) this.#flush();
      else if (!this.#timer) {
        this.#openedAt = performance.now();
        this.#timer = setTimeout(() => this.#flush(), this.options.windowMs);
      }
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    this.options.events.emit('rag.batch', { call: 'embedding', inputs: batch.length, waitedMs: performance.now() - this.#openedAt });
    this.inner.embed(batch.map((p) => p.text)).then(
      (vectors) => batch.forEach((p, i) => p.resolve(vectors[i]!)),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }

  /** Sends what is waiting now (shutdown). */
  flush(): void {
    this.#flush();
  }
}
