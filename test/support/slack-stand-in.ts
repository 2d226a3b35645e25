/**
 * A stand-in for Slack on loopback: incoming webhooks (POST /webhook/...) and
 * the Web API (POST /api/chat.postMessage, /api/chat.update), as the official
 * client and our webhook sender call them. It records every request and
 * answers from a script: 429 with Retry-After, 5xx, 4xx with an error code,
 * slow answers, or a request held open forever.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly path: string;
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  /** JSON body, or the form fields with `blocks` parsed. */
  readonly body: Record<string, unknown>;
  /** What the stand-in answered. */
  status: number;
}

export type Answer =
  | { readonly status: 429; readonly retryAfterSeconds: number }
  | { readonly status: number; readonly error?: string; readonly delayMs?: number }
  | { readonly hang: true };

export class SlackStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Answers used in order, one per request, before falling back to success. */
  readonly script: Answer[] = [];
  /** The next request whose body contains this text is held open forever (then it is cleared). */
  holdMatching: string | undefined;
  private server: Server | undefined;
  private ts = 1_700_000_000;
  private readonly held = new Set<ServerResponse>();
  port = 0;

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.port}/webhook/T000/B000/secretwebhookpath`;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** Requests that were answered 2xx. */
  get delivered(): RecordedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if ((req.headers['content-type'] ?? '').includes('json')) {
      body = JSON.parse(raw) as Record<string, unknown>;
    } else {
      body = Object.fromEntries(new URLSearchParams(raw));
      if (typeof body.blocks === 'string') body.blocks = JSON.parse(body.blocks);
    }
    const path = req.url ?? '';
    const record: RecordedRequest = { path, at: Date.now(), headers: req.headers, raw, body, status: 0 };
    this.requests.push(record);
    const api = path.startsWith('/api/');
    if (this.holdMatching !== undefined && raw.includes(this.holdMatching)) {
      this.holdMatching = undefined;
      this.held.add(res);
      return;
    }
    const answer = this.script.shift();
    if (answer !== undefined && 'hang' in answer) {
      this.held.add(res);
      return;
    }
    if (answer !== undefined && 'delayMs' in answer && answer.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer !== undefined && answer.status === 429 && 'retryAfterSeconds' in answer) {
      record.status = 429;
      res.writeHead(429, { 'retry-after': String(answer.retryAfterSeconds), 'content-type': 'text/plain' }).end('rate_limited');
      return;
    }
    if (answer !== undefined && answer.status !== 200) {
      record.status = answer.status;
      const error = 'error' in answer && answer.error ? answer.error : 'internal_error';
      if (api && answer.status < 500) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
      else res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(error);
      return;
    }
    record.status = 200;
    if (!api) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const channel = typeof body.channel === 'string' ? body.channel : 'C000';
    const ts = path.endsWith('chat.update') ? String(body.ts) : `${this.ts++}.000100`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel, ts }));
  }
}

/** The text of every block and the fallback, for searching. */
export function allText(body: Record<string, unknown>): string {
  return JSON.stringify(body);
}
