/**
 * A stand-in for the OpenAI API on loopback: real HTTP, the official client's
 * real requests. It records every request (path, headers, JSON body) and
 * answers embeddings (deterministic vectors: the local embedder on the input,
 * so retrieval through it is meaningful) and chat completions (a schema-valid
 * answer), unless a test queues another reply: a status with headers, a
 * delay, or a malformed body.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalEmbedder } from '../../src/pipeline/rag/embedder.js';

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly atMs: number;
}

export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** Sent as JSON; a string is sent as it is. */
  readonly body?: unknown;
  readonly delayMs?: number;
}

export type Endpoint = 'embeddings' | 'chat';

export const DEFAULT_ANSWER = {
  likely_cause: 'The connection pool is exhausted by long transactions.',
  remediation: ['Scale the service out', 'Kill idle-in-transaction sessions'],
  confidence: 'medium',
  used_items: ['R1', 'X9'],
};

export class OpenAIStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly #queues: Record<Endpoint, Reply[]> = { embeddings: [], chat: [] };
  /** Replies used when a queue is empty. */
  defaults: Partial<Record<Endpoint, Reply>> = {};
  chatAnswer: unknown = DEFAULT_ANSWER;
  chatUsage = { prompt_tokens: 400, completion_tokens: 60 };
  #server: Server | undefined;
  readonly #open = new Set<ServerResponse>();

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server ? this.#server.close(() => resolve()) : resolve());
  }

  queue(endpoint: Endpoint, ...replies: Reply[]): void {
    this.#queues[endpoint].push(...replies);
  }

  calls(endpoint: Endpoint): RecordedRequest[] {
    const path = endpoint === 'chat' ? '/v1/chat/completions' : '/v1/embeddings';
    return this.requests.filter((r) => r.path === path);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const path = (req.url ?? '').split('?')[0]!;
    this.requests.push({ path, headers: req.headers, body, raw, atMs: performance.now() });
    const endpoint: Endpoint | undefined = path === '/v1/embeddings' ? 'embeddings' : path === '/v1/chat/completions' ? 'chat' : undefined;
    if (!endpoint) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
      return;
    }
    const reply = this.#queues[endpoint].shift() ?? this.defaults[endpoint] ?? {};
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (res.destroyed) return;
    const status = reply.status ?? 200;
    const payload = reply.body !== undefined ? reply.body : status === 200 ? this.#answer(endpoint, body) : { error: { message: `status ${status}`, type: 'server_error' } };
    res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
    res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  #answer(endpoint: Endpoint, body: Record<string, unknown>): unknown {
    if (endpoint === 'embeddings') {
      const inputs = body.input as string[];
      const embedder = new LocalEmbedder({ dimension: Number(body.dimensions ?? 64) });
      return {
        object: 'list',
        model: body.model,
        data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: Array.from(embedder.embedOne(text)) })),
        usage: { prompt_tokens: inputs.join(' ').length / 4, total_tokens: inputs.join(' ').length / 4 },
      };
    }
    return {
      id: 'chatcmpl-standin',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', refusal: null, content: typeof this.chatAnswer === 'string' ? this.chatAnswer : JSON.stringify(this.chatAnswer) } }],
      usage: { ...this.chatUsage, total_tokens: this.chatUsage.prompt_tokens + this.chatUsage.completion_tokens },
    };
  }
}
