/**
 * Builds the RAG components from the validated configuration: the one place
 * that chooses implementations (local or OpenAI embedder, flat or Milvus
 * store, retrieval or LLM analyzer) and wires the guards between them.
 * The composition root calls `createIncidentAnalyzer` and hands the result to
 * alerting; `cali kb` uses `openKnowledgeBase`.
 */
import OpenAI from 'openai';
import type { RagConfig } from '../../config/rag-config.js';
import type { Redactor } from '../redaction.js';
import type { IncidentAnalyzer } from './analysis.js';
import { LocalEmbedder, type Embedder } from './embedder.js';
import { RagEventBus } from './events.js';
import { FlatVectorStore } from './flat-store.js';
import { RagIncidentAnalyzer } from './incident-analyzer.js';
import { KnowledgeBase } from './knowledge-base.js';
import { LlmAnalyzer } from './llm-analyzer.js';
import { CoalescingEmbedder, OpenAIEmbedder } from './openai-embedder.js';
import { GuardedApi, SpendMeter } from './resilience.js';
import type { VectorStore } from './vector-store.js';

export interface RagDependencies {
  /** The same redactor Slack uses. */
  readonly redactor: Redactor;
  readonly events?: RagEventBus;
  /** For tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export interface OpenedKnowledgeBase {
  readonly knowledgeBase: KnowledgeBase;
  readonly embedder: Embedder;
  readonly store: VectorStore;
  readonly events: RagEventBus;
  readonly spend: SpendMeter;
  readonly client: OpenAI | undefined;
  close(): Promise<void>;
}

function openaiClient(config: RagConfig, deps: RagDependencies): OpenAI {
  return new OpenAI({
    apiKey: config.openaiApiKey ?? '',
    ...(config.openaiBaseUrl !== undefined ? { baseURL: config.openaiBaseUrl } : {}),
    // Retries and timeouts are ours (GuardedApi): the client must not add its own on top.
    maxRetries: 0,
    timeout: config.callTimeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}

function guard(config: RagConfig, events: RagEventBus, call: 'embedding' | 'chat', spend: SpendMeter | undefined): GuardedApi {
  const chat = call === 'chat';
  return new GuardedApi({
    call,
    provider: 'openai',
    timeoutMs: config.callTimeoutMs,
    maxAttempts: config.maxAttempts,
    concurrency: chat ? config.chatConcurrency : 2,
    breaker: { failureThreshold: config.breakerFailures, cooldownMs: config.breakerCooldownMs },
    rateLimit: chat
      ? { requestsPerMinute: config.chatRequestsPerMinute, tokensPerMinute: config.chatTokensPerMinute }
      : { requestsPerMinute: config.embeddingRequestsPerMinute, tokensPerMinute: config.embeddingTokensPerMinute },
    ...(spend ? { spend } : {}),
    events,
  });
}

/** The knowledge base as configured (for `cali kb` and the analyzer). */
export async function openKnowledgeBase(config: RagConfig, deps: RagDependencies): Promise<OpenedKnowledgeBase> {
  const events = deps.events ?? new RagEventBus();
  const spend = new SpendMeter({ capTokensPerHour: config.spendCapTokensPerHour, usdPerMillionTokens: config.usdPerMillionTokens });
  const usesOpenAI = config.externalCalls && (config.embedder === 'openai' || config.analyzer === 'llm');
  const client = usesOpenAI ? openaiClient(config, deps) : undefined;
  let embedder: Embedder;
  if (config.embedder === 'openai' && client) {
    const direct = new OpenAIEmbedder({ client, model: config.embeddingModel, dimensions: config.embeddingDimensions, guard: guard(config, events, 'embedding', undefined), spend, events });
    embedder = config.coalesceMs > 0 ? new CoalescingEmbedder(direct, { windowMs: config.coalesceMs, maxBatch: config.embeddingBatchMax, events }) : direct;
  } else {
    embedder = new LocalEmbedder({ dimension: config.embeddingDimensions });
  }
  // The Milvus SDK (gRPC, protobuf) is loaded only when it is configured: it costs every CLI command's start-up otherwise.
  const store: VectorStore = config.store === 'milvus'
    ? new (await import('./milvus-store.js')).MilvusVectorStore({ address: config.milvusAddress!, token: config.milvusToken, timeoutMs: config.callTimeoutMs, events })
    : new FlatVectorStore(config.dir);
  let collection;
  try {
    collection = await store.open(config.collection, { modelId: embedder.modelId, dimension: embedder.dimension });
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  const knowledgeBase = new KnowledgeBase({ collection, embedder, redactor: deps.redactor, events });
  return { knowledgeBase, embedder, store, events, spend, client, close: () => store.close() };
}

/** Answers nothing: RAG is switched off (CALI_RAG_ENABLED=off). */
class DisabledAnalyzer implements IncidentAnalyzer {
  analyze(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The analyzer alerting calls. Opens the knowledge base (a Milvus outage or a
 * model mismatch fails here, at start-up, with the fix in the message).
 */
export async function createIncidentAnalyzer(config: RagConfig, deps: RagDependencies): Promise<IncidentAnalyzer> {
  if (!config.enabled) return new DisabledAnalyzer();
  const opened = await openKnowledgeBase(config, deps);
  const llm = config.analyzer === 'llm' && config.externalCalls && opened.client
    ? new LlmAnalyzer({
      client: opened.client,
      model: config.chatModel,
      maxCompletionTokens: config.maxCompletionTokens,
      guard: guard(config, opened.events, 'chat', opened.spend),
      spend: opened.spend,
      redactor: deps.redactor,
      events: opened.events,
    })
    : undefined;
  return new RagIncidentAnalyzer({
    knowledgeBase: opened.knowledgeBase,
    embedder: opened.embedder,
    redactor: deps.redactor,
    events: opened.events,
    llm,
    llmDisabled: config.analyzer === 'llm' && !config.externalCalls,
    similarIncidents: config.similarIncidents,
    runbookPassages: config.runbookPassages,
    minIncidentSimilarity: config.minIncidentSimilarity,
    minRunbookSimilarity: config.minRunbookSimilarity,
    cacheSize: config.cacheSize,
    cacheTtlMs: config.cacheTtlMs,
    analysisTimeoutMs: config.analysisTimeoutMs,
    onClose: () => {
      if (opened.embedder instanceof CoalescingEmbedder) opened.embedder.flush();
      return opened.close();
    },
  });
}
