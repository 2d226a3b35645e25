/**
 * A loopback HTTP server that answers the official OpenSearch client like a
 * cluster would, for the requests the sink makes: ISM policy and index
 * template existence checks and PUTs, `_bulk` (with scripted per-item
 * statuses for partial failures), `_update` for the incidents index. It
 * records every request as the client really sent it (gzip bodies inflated).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface BulkAction {
  readonly index: string;
  readonly id: string;
  readonly source: Record<string, unknown>;
}

/** Status of one bulk item: 2xx indexed, anything else fails with a typical error body. */
export type ItemScript = (action: BulkAction, attempt: number) => number;

const ITEM_ERRORS: Record<number, { type: string; reason: string }> = {
  400: { type: 'mapper_parsing_exception', reason: 'failed to parse field [level] of type [keyword]' },
  429: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' },
  503: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' },
};

export class OpenSearchStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Policies and templates that exist. */
  readonly existing = new Set<string>();
  readonly documents = new Map<string, Record<string, unknown>>();
  /** Per-item status; default: everything indexed. */
  itemStatus: ItemScript = () => 201;
  /** Status of the whole next bulk requests (FIFO); empty: answer per item. */
  readonly bulkStatuses: number[] = [];
  private readonly attempts = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip' && raw.length > 0) raw = gunzipSync(raw);
        const url = new URL(req.url ?? '/', 'http://standin');
        const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: raw.toString('utf8') };
        this.requests.push(request);
        this.answer(request, res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  bulkRequests(): BulkAction[][] {
    return this.requests.filter((r) => r.path === '/_bulk').map((r) => parseBulk(r.body));
  }

  private answer(request: RecordedRequest, res: ServerResponse): void {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(request.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    const { method, path } = request;
    if (path.startsWith('/_plugins/_ism/policies/') || path.startsWith('/_index_template/')) {
      if (method === 'HEAD') return json(this.existing.has(path) ? 200 : 404, {});
      if (this.existing.has(path)) return json(409, { error: { type: 'version_conflict_engine_exception', reason: `${path} already exists` }, status: 409 });
      this.existing.add(path);
      return json(path.startsWith('/_plugins') ? 201 : 200, path.startsWith('/_plugins') ? { _id: path.split('/').pop(), _version: 1 } : { acknowledged: true });
    }
    if (path === '/_bulk' && method === 'POST') {
      const whole = this.bulkStatuses.shift();
      if (whole !== undefined) return json(whole, { error: { type: whole === 401 ? 'security_exception' : 'cluster_block_exception', reason: 'scripted' }, status: whole });
      const actions = parseBulk(request.body);
      const items = actions.map((action) => {
        const key = `${action.index}/${action.id}`;
        const attempt = (this.attempts.get(key) ?? 0) + 1;
        this.attempts.set(key, attempt);
        const status = this.itemStatus(action, attempt);
        if (status >= 200 && status < 300) {
          const existed = this.documents.has(key);
          this.documents.set(key, action.source);
          return { index: { _index: action.index, _id: action.id, _version: 1, result: existed ? 'updated' : 'created', status } };
        }
        return { index: { _index: action.index, _id: action.id, status, error: { ...(ITEM_ERRORS[status] ?? { type: 'exception', reason: 'scripted' }), index: action.index } } };
      });
      return json(200, { took: 3, errors: items.some((i) => i.index.status >= 300), items });
    }
    const update = /^\/([^/]+)\/_update\/([^/]+)$/.exec(path);
    if (update && method === 'POST') {
      const key = `${update[1]}/${decodeURIComponent(update[2]!)}`;
      const body = JSON.parse(request.body) as { doc: Record<string, unknown> };
      this.documents.set(key, { ...this.documents.get(key), ...body.doc });
      return json(200, { _index: update[1], _id: update[2], result: 'updated' });
    }
    json(404, { error: { type: 'no_handler', reason: `${method} ${path}` }, status: 404 });
  }
}

export function parseBulk(body: string): BulkAction[] {
  const lines = body.split('\n').filter((l) => l.length > 0);
  const actions: BulkAction[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const meta = (JSON.parse(lines[i]!) as { index: { _index: string; _id: string } }).index;
    actions.push({ index: meta._index, id: meta._id, source: JSON.parse(lines[i + 1]!) as Record<string, unknown> });
  }
  return actions;
}
