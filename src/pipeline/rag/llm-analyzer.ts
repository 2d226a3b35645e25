/**
 * The LLM step: OpenAI chat with a strict JSON schema. The model sees the
 * redacted incident and the retrieved items (each with an id) and must say
 * which items it used; ids it did not receive are dropped, and an answer that
 * does not match the schema is an error (the retrieval result stands), never
 * a guess shown to an operator.
 */
import type OpenAI from 'openai';
import typia, { type tags } from 'typia';
import type { Redactor } from '../redaction.js';
import type { IncidentAnalysis } from './analysis.js';
import type { RagEventBus } from './events.js';
import { estimateTokens, RagCallError, type GuardedApi, type SpendMeter } from './resilience.js';

interface LlmAnswer {
  likely_cause: string & tags.MaxLength<2000>;
  remediation: (string & tags.MaxLength<1000>)[] & tags.MaxItems<10>;
  confidence: 'low' | 'medium' | 'high';
  used_items: (string & tags.MaxLength<16>)[] & tags.MaxItems<40>;
}

const validateAnswer = typia.createValidate<LlmAnswer>();

export const ANSWER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['likely_cause', 'remediation', 'confidence', 'used_items'],
  properties: {
    likely_cause: { type: 'string', description: 'One or two sentences; "unknown" when the context does not support a cause.' },
    remediation: { type: 'array', items: { type: 'string' }, description: 'Concrete steps, most urgent first; empty when unknown.' },
    confidence: { type: 'string', enum: ['low', 'medium', 'high'] },
    used_items: { type: 'array', items: { type: 'string' }, description: 'Ids (I1, R2...) of the context items the answer relies on.' },
  },
} as const;

const SYSTEM_PROMPT = [
  'You help an on-call SRE triage a production error.',
  'Use only the incident and the numbered context items (past incidents I*, runbook passages R*).',
  'Name the likely cause and concrete remediation steps. Say which items you used.',
  'If the context does not support a cause, answer "unknown" with confidence "low"; never invent facts, hosts or commands.',
].join(' ');

export interface LlmAnalyzerOptions {
  readonly client: OpenAI;
  readonly model: string;
  readonly maxCompletionTokens: number;
  readonly guard: GuardedApi;
  readonly spend: SpendMeter;
  readonly redactor: Redactor;
  readonly events: RagEventBus;
}

export class LlmAnalyzer {
  constructor(private readonly options: LlmAnalyzerOptions) {}

  /** Adds cause, remediation and confidence to a retrieval result; throws RagCallError/RagSkippedError. */
  async analyze(incidentText: string, retrieved: IncidentAnalysis, signal?: AbortSignal): Promise<IncidentAnalysis> {
    const { client, model, maxCompletionTokens, guard, spend, redactor, events } = this.options;
    const items = new Map<string, string>();
    retrieved.similarIncidents.forEach((s, i) => {
      items.set(`I${i + 1}`, `past incident (${s.service}, similarity ${s.similarity.toFixed(2)}): ${s.template}` +
        `${s.likelyCause ? `\n  cause: ${s.likelyCause}` : ''}${s.resolution ? `\n  resolution: ${s.resolution}` : ''}`);
    });
    retrieved.runbooks.forEach((r, i) => items.set(`R${i + 1}`, `runbook ${r.source} / ${r.heading}:\n${r.text}`));
    const context = [...items].map(([id, text]) => `[${id}] ${text}`).join('\n\n') || '(no context items)';
    // Everything sent is redacted here again: retrieved items may predate a new redaction rule.
    const user = redactor.redact(`Incident:\n${incidentText}\n\nContext:\n${context}`);
    const estimate = estimateTokens(SYSTEM_PROMPT) + estimateTokens(user) + maxCompletionTokens;
    const completion = await guard.run(estimate, 1, async (attemptSignal) => {
      const { data, response } = await client.chat.completions
        .create({
          model,
          messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: user }],
          response_format: { type: 'json_schema', json_schema: { name: 'incident_analysis', strict: true, schema: ANSWER_SCHEMA } },
          max_completion_tokens: maxCompletionTokens,
        }, { signal: attemptSignal, maxRetries: 0 })
        .withResponse();
      // Charged whether or not the answer is usable.
      const prompt = data.usage?.prompt_tokens;
      const output = data.usage?.completion_tokens;
      const estimated = typeof prompt !== 'number' || typeof output !== 'number';
      const promptTokens = typeof prompt === 'number' ? prompt : estimateTokens(SYSTEM_PROMPT) + estimateTokens(user);
      const completionTokens = typeof output === 'number' ? output : estimateTokens(data.choices?.[0]?.message?.content ?? '');
      spend.record(promptTokens + completionTokens);
      events.emit('rag.tokens', { call: 'chat', model, promptTokens, completionTokens, estimated, estimatedUsd: spend.estimatedUsd(promptTokens + completionTokens) });
      const hour = spend.tokensLastHour();
      events.emit('rag.spend', { tokensLastHour: hour, capTokensPerHour: spend.options.capTokensPerHour, estimatedUsdLastHour: spend.estimatedUsd(hour) });
      return { value: parseAnswer(data), headers: response.headers };
    }, signal);
    const used = new Set(completion.used_items.filter((id) => items.has(id)));
    return {
      analyzer: 'llm',
      similarIncidents: retrieved.similarIncidents.filter((_, i) => used.has(`I${i + 1}`)),
      runbooks: retrieved.runbooks.filter((_, i) => used.has(`R${i + 1}`)),
      likelyCause: redactor.redact(completion.likely_cause),
      remediation: completion.remediation.map((step) => redactor.redact(step)),
      confidence: completion.confidence,
    };
  }
}

function parseAnswer(completion: OpenAI.Chat.Completions.ChatCompletion): LlmAnswer {
  const choice = completion.choices?.[0];
  const message = choice?.message;
  if (message?.refusal) throw new RagCallError('malformed', 'the model refused to answer');
  if (choice?.finish_reason === 'length') throw new RagCallError('malformed', 'the answer was cut off (max_completion_tokens)');
  let value: unknown;
  try {
    value = JSON.parse(message?.content ?? '');
  } catch {
    throw new RagCallError('malformed', 'the answer is not JSON');
  }
  const result = validateAnswer(value);
  if (!result.success) throw new RagCallError('malformed', `the answer does not match the schema at ${result.errors[0]?.path ?? '$input'}`);
  return result.data;
}
