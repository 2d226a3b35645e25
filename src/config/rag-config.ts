/**
 * RAG settings from the environment, validated at start-up: the compiled typia
 * validator checks types and ranges, and every problem names the variable and
 * the fix. The defaults make no external call: local embedder, embedded
 * store, retrieval-only analyzer.
 */
import typia, { type tags } from 'typia';
import { CaliError } from '../errors.js';
import { optionalUrl, type Env } from './env.js';

type Ms = number & tags.Type<'uint32'> & tags.Minimum<1>;

export interface RagConfig {
  /** CALI_RAG_ENABLED: off = no analysis at all. */
  readonly enabled: boolean;
  /** CALI_RAG_EXTERNAL_CALLS: off = nothing goes to OpenAI (the LLM step is skipped). */
  readonly externalCalls: boolean;
  readonly embedder: 'local' | 'openai';
  readonly store: 'local' | 'milvus';
  readonly analyzer: 'retrieval' | 'llm';
  /** Embedded store directory. */
  readonly dir: string & tags.MinLength<1>;
  readonly collection: string & tags.Pattern<'^[A-Za-z_][A-Za-z0-9_]{0,254}$'>;
  readonly embeddingModel: string & tags.MinLength<1>;
  readonly embeddingDimensions: number & tags.Type<'uint32'> & tags.Minimum<16> & tags.Maximum<4096>;
  readonly chatModel: string & tags.MinLength<1>;
  readonly openaiApiKey: string | undefined;
  readonly openaiBaseUrl: string | undefined;
  readonly milvusAddress: string | undefined;
  readonly milvusToken: string | undefined;
  /** How long an alert waits for its analysis (alerting reads this). */
  /** One attempt of one external call. */
  readonly callTimeoutMs: Ms;
  /** A whole analysis, after which it gives up (the alert went out long ago). */
  readonly analysisTimeoutMs: Ms;
  readonly maxAttempts: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<5>;
  readonly coalesceMs: number & tags.Type<'uint32'> & tags.Maximum<5000>;
  readonly embeddingBatchMax: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<2048>;
  readonly chatConcurrency: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<64>;
  readonly chatRequestsPerMinute: number & tags.Type<'uint32'> & tags.Minimum<1>;
  readonly chatTokensPerMinute: number & tags.Type<'uint32'> & tags.Minimum<100>;
  readonly embeddingRequestsPerMinute: number & tags.Type<'uint32'> & tags.Minimum<1>;
  readonly embeddingTokensPerMinute: number & tags.Type<'uint32'> & tags.Minimum<100>;
  readonly maxCompletionTokens: number & tags.Type<'uint32'> & tags.Minimum<16> & tags.Maximum<16384>;
  readonly spendCapTokensPerHour: number & tags.Type<'uint32'>;
  readonly usdPerMillionTokens: number & tags.Minimum<0>;
  readonly breakerFailures: number & tags.Type<'uint32'> & tags.Minimum<1>;
  readonly breakerCooldownMs: Ms;
  readonly cacheSize: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<1000000>;
  readonly cacheTtlMs: Ms;
  /** Past incidents below this cosine similarity are not shown (noise). */
  readonly minIncidentSimilarity: number & tags.Minimum<0> & tags.Maximum<1>;
  readonly minRunbookSimilarity: number & tags.Minimum<0> & tags.Maximum<1>;
  readonly similarIncidents: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<20>;
  readonly runbookPassages: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<20>;
}

export const RAG_DEFAULTS = Object.freeze({
  dir: '.cali/kb',
  collection: 'cali_kb',
  embeddingModel: 'text-embedding-3-small',
  localDimensions: 256,
  openaiDimensions: 512,
  chatModel: 'gpt-4o-mini',
  callTimeoutMs: 10_000,
  analysisTimeoutMs: 60_000,
  maxAttempts: 3,
  coalesceMs: 200,
  embeddingBatchMax: 256,
  chatConcurrency: 4,
  chatRequestsPerMinute: 60,
  chatTokensPerMinute: 100_000,
  embeddingRequestsPerMinute: 600,
  embeddingTokensPerMinute: 1_000_000,
  maxCompletionTokens: 500,
  spendCapTokensPerHour: 200_000,
  usdPerMillionTokens: 0.6,
  breakerFailures: 5,
  breakerCooldownMs: 30_000,
  cacheSize: 10_000,
  cacheTtlMs: 3_600_000,
  // Tuned on the simulator's scenarios with the local embedder (test/rag-retrieval-quality.test.ts):
  // another scenario's incident scores <= 0.72, the same scenario's >= 0.9.
  minIncidentSimilarity: 0.8,
  minRunbookSimilarity: 0.35,
  similarIncidents: 3,
  runbookPassages: 3,
});

/** Each field's variable and fix, for messages. */
const VARIABLES: Record<keyof RagConfig, readonly [string, string]> = {
  enabled: ['CALI_RAG_ENABLED', 'use on or off'],
  externalCalls: ['CALI_RAG_EXTERNAL_CALLS', 'use on or off'],
  embedder: ['CALI_RAG_EMBEDDER', 'use local (default, no network) or openai'],
  store: ['CALI_RAG_STORE', 'use local (default, a directory) or milvus'],
  analyzer: ['CALI_RAG_ANALYZER', 'use retrieval (default, no generated text) or llm'],
  dir: ['CALI_RAG_DIR', 'set a writable directory for the embedded knowledge base'],
  collection: ['CALI_RAG_COLLECTION', 'use a letter or "_" then up to 254 letters, digits or "_"'],
  embeddingModel: ['CALI_RAG_EMBEDDING_MODEL', 'name an OpenAI embedding model, e.g. text-embedding-3-small'],
  embeddingDimensions: ['CALI_RAG_EMBEDDING_DIMENSIONS', 'use a whole number from 16 to 4096'],
  chatModel: ['CALI_RAG_CHAT_MODEL', 'name an OpenAI chat model with structured outputs, e.g. gpt-4o-mini'],
  openaiApiKey: ['OPENAI_API_KEY', 'set the API key'],
  openaiBaseUrl: ['OPENAI_BASE_URL', 'set an http(s) URL such as https://api.openai.com/v1'],
  milvusAddress: ['MILVUS_ADDRESS', 'set host:port of Milvus, e.g. milvus.vector.svc:19530'],
  milvusToken: ['MILVUS_TOKEN', 'set user:password or an API key'],
  callTimeoutMs: ['CALI_RAG_CALL_TIMEOUT_MS', 'use a whole number of milliseconds, e.g. 10000'],
  analysisTimeoutMs: ['CALI_RAG_ANALYSIS_TIMEOUT_MS', 'use a whole number of milliseconds, e.g. 60000'],
  maxAttempts: ['CALI_RAG_MAX_ATTEMPTS', 'use a whole number from 1 to 5'],
  coalesceMs: ['CALI_RAG_COALESCE_MS', 'use a whole number of milliseconds from 0 to 5000'],
  embeddingBatchMax: ['CALI_RAG_EMBEDDING_BATCH_MAX', 'use a whole number from 1 to 2048 (the API\'s limit)'],
  chatConcurrency: ['CALI_RAG_CHAT_CONCURRENCY', 'use a whole number from 1 to 64'],
  chatRequestsPerMinute: ['CALI_RAG_CHAT_RPM', 'use your chat model\'s requests-per-minute limit'],
  chatTokensPerMinute: ['CALI_RAG_CHAT_TPM', 'use your chat model\'s tokens-per-minute limit (>= 100)'],
  embeddingRequestsPerMinute: ['CALI_RAG_EMBEDDING_RPM', 'use your embedding model\'s requests-per-minute limit'],
  embeddingTokensPerMinute: ['CALI_RAG_EMBEDDING_TPM', 'use your embedding model\'s tokens-per-minute limit (>= 100)'],
  maxCompletionTokens: ['CALI_RAG_MAX_COMPLETION_TOKENS', 'use a whole number from 16 to 16384'],
  spendCapTokensPerHour: ['CALI_RAG_SPEND_CAP_TOKENS_PER_HOUR', 'use a whole number of tokens (0 stops every LLM call)'],
  usdPerMillionTokens: ['CALI_RAG_USD_PER_MILLION_TOKENS', 'use a price >= 0, e.g. 0.6'],
  breakerFailures: ['CALI_RAG_BREAKER_FAILURES', 'use a whole number >= 1'],
  breakerCooldownMs: ['CALI_RAG_BREAKER_COOLDOWN_MS', 'use a whole number of milliseconds, e.g. 30000'],
  cacheSize: ['CALI_RAG_CACHE_SIZE', 'use a whole number from 1 to 1000000'],
  cacheTtlMs: ['CALI_RAG_CACHE_TTL_MS', 'use a whole number of milliseconds, e.g. 3600000'],
  minIncidentSimilarity: ['CALI_RAG_MIN_INCIDENT_SIMILARITY', 'use a number from 0 to 1, e.g. 0.8'],
  minRunbookSimilarity: ['CALI_RAG_MIN_RUNBOOK_SIMILARITY', 'use a number from 0 to 1, e.g. 0.35'],
  similarIncidents: ['CALI_RAG_SIMILAR_INCIDENTS', 'use a whole number from 1 to 20'],
  runbookPassages: ['CALI_RAG_RUNBOOK_PASSAGES', 'use a whole number from 1 to 20'],
};

const validateRagConfig = typia.createValidate<RagConfig>();

function configError(field: keyof RagConfig, problem: string, fix?: string): CaliError {
  const [variable, defaultFix] = VARIABLES[field];
  return new CaliError('CALI_ERR_CONFIG', `${variable} ${problem}: ${fix ?? defaultFix}`);
}

function read(env: Env, field: keyof RagConfig): string | undefined {
  const value = env[VARIABLES[field][0]]?.trim();
  return value === '' ? undefined : value;
}

function flag(env: Env, field: keyof RagConfig, fallback: boolean): boolean {
  const raw = read(env, field);
  if (raw === undefined) return fallback;
  if (/^(on|true|1|yes)$/i.test(raw)) return true;
  if (/^(off|false|0|no)$/i.test(raw)) return false;
  throw configError(field, `is "${raw}"`);
}

/** Numbers stay as given (NaN for text) so the validator reports the variable. */
function num(env: Env, field: keyof RagConfig, fallback: number): number {
  const raw = read(env, field);
  return raw === undefined ? fallback : Number(raw);
}

export function loadRagConfig(env: Env): RagConfig {
  const embedder = (read(env, 'embedder') ?? 'local') as RagConfig['embedder'];
  const raw: RagConfig = {
    enabled: flag(env, 'enabled', true),
    externalCalls: flag(env, 'externalCalls', true),
    embedder,
    store: (read(env, 'store') ?? 'local') as RagConfig['store'],
    analyzer: (read(env, 'analyzer') ?? 'retrieval') as RagConfig['analyzer'],
    dir: read(env, 'dir') ?? RAG_DEFAULTS.dir,
    collection: read(env, 'collection') ?? RAG_DEFAULTS.collection,
    embeddingModel: read(env, 'embeddingModel') ?? RAG_DEFAULTS.embeddingModel,
    embeddingDimensions: num(env, 'embeddingDimensions', embedder === 'openai' ? RAG_DEFAULTS.openaiDimensions : RAG_DEFAULTS.localDimensions),
    chatModel: read(env, 'chatModel') ?? RAG_DEFAULTS.chatModel,
    openaiApiKey: read(env, 'openaiApiKey'),
    openaiBaseUrl: optionalUrl(env, 'OPENAI_BASE_URL'),
    milvusAddress: read(env, 'milvusAddress'),
    milvusToken: read(env, 'milvusToken'),
    callTimeoutMs: num(env, 'callTimeoutMs', RAG_DEFAULTS.callTimeoutMs),
    analysisTimeoutMs: num(env, 'analysisTimeoutMs', RAG_DEFAULTS.analysisTimeoutMs),
    maxAttempts: num(env, 'maxAttempts', RAG_DEFAULTS.maxAttempts),
    coalesceMs: num(env, 'coalesceMs', RAG_DEFAULTS.coalesceMs),
    embeddingBatchMax: num(env, 'embeddingBatchMax', RAG_DEFAULTS.embeddingBatchMax),
    chatConcurrency: num(env, 'chatConcurrency', RAG_DEFAULTS.chatConcurrency),
    chatRequestsPerMinute: num(env, 'chatRequestsPerMinute', RAG_DEFAULTS.chatRequestsPerMinute),
    chatTokensPerMinute: num(env, 'chatTokensPerMinute', RAG_DEFAULTS.chatTokensPerMinute),
    embeddingRequestsPerMinute: num(env, 'embeddingRequestsPerMinute', RAG_DEFAULTS.embeddingRequestsPerMinute),
    embeddingTokensPerMinute: num(env, 'embeddingTokensPerMinute', RAG_DEFAULTS.embeddingTokensPerMinute),
    maxCompletionTokens: num(env, 'maxCompletionTokens', RAG_DEFAULTS.maxCompletionTokens),
    spendCapTokensPerHour: num(env, 'spendCapTokensPerHour', RAG_DEFAULTS.spendCapTokensPerHour),
    usdPerMillionTokens: num(env, 'usdPerMillionTokens', RAG_DEFAULTS.usdPerMillionTokens),
    breakerFailures: num(env, 'breakerFailures', RAG_DEFAULTS.breakerFailures),
    breakerCooldownMs: num(env, 'breakerCooldownMs', RAG_DEFAULTS.breakerCooldownMs),
    cacheSize: num(env, 'cacheSize', RAG_DEFAULTS.cacheSize),
    cacheTtlMs: num(env, 'cacheTtlMs', RAG_DEFAULTS.cacheTtlMs),
    minIncidentSimilarity: num(env, 'minIncidentSimilarity', RAG_DEFAULTS.minIncidentSimilarity),
    minRunbookSimilarity: num(env, 'minRunbookSimilarity', RAG_DEFAULTS.minRunbookSimilarity),
    similarIncidents: num(env, 'similarIncidents', RAG_DEFAULTS.similarIncidents),
    runbookPassages: num(env, 'runbookPassages', RAG_DEFAULTS.runbookPassages),
  };
  const result = validateRagConfig(raw);
  if (!result.success) {
    const first = result.errors[0]!;
    const field = first.path.replace(/^\$input\./, '') as keyof RagConfig;
    const given = VARIABLES[field] ? env[VARIABLES[field][0]]?.trim() : undefined;
    throw configError(field, given !== undefined ? `is "${given}"` : `is ${JSON.stringify(first.value) ?? 'not set'}`);
  }
  const config = result.data;
  const needsOpenAI = config.enabled && (config.embedder === 'openai' || (config.analyzer === 'llm' && config.externalCalls));
  if (config.enabled && config.embedder === 'openai' && !config.externalCalls) {
    throw configError('embedder', 'is openai but CALI_RAG_EXTERNAL_CALLS is off', 'set CALI_RAG_EMBEDDER=local with a new CALI_RAG_COLLECTION, or allow external calls');
  }
  if (needsOpenAI && config.openaiApiKey === undefined) {
    throw configError('openaiApiKey', `is not set but CALI_RAG_EMBEDDER=${config.embedder} and CALI_RAG_ANALYZER=${config.analyzer} call OpenAI`, 'set OPENAI_API_KEY, or use CALI_RAG_EMBEDDER=local and CALI_RAG_ANALYZER=retrieval');
  }
  if (config.enabled && config.store === 'milvus' && config.milvusAddress === undefined) {
    throw configError('milvusAddress', 'is not set but CALI_RAG_STORE=milvus', 'set MILVUS_ADDRESS=host:19530, or CALI_RAG_STORE=local');
  }
  if (config.analysisTimeoutMs < config.callTimeoutMs) {
    throw configError('analysisTimeoutMs', `(${config.analysisTimeoutMs}) is shorter than CALI_RAG_CALL_TIMEOUT_MS (${config.callTimeoutMs})`, 'make the whole analysis at least as long as one call');
  }
  return Object.freeze(config);
}
