/**
 * The knowledge base: runbook passages and analysed incidents in one vector
 * collection, told apart by `kind`. Everything stored is redacted first: the
 * collection may live in a shared Milvus, and its text goes into prompts.
 */
import type { IncidentCandidate } from '../../workers/protocol.js';
import type { Redactor } from '../redaction.js';
import type { IncidentAnalysis, RunbookPassage, SimilarIncident } from './analysis.js';
import type { Embedder } from './embedder.js';
import type { RagEventBus } from './events.js';
import type { SearchHit, VectorCollection } from './vector-store.js';

/** What an incident item's payload holds. */
export interface StoredIncident {
  readonly fingerprint: string;
  readonly service: string;
  readonly template: string;
  readonly exception?: string;
  readonly seenAtMs: number;
  readonly firstSeenMs: number;
  readonly analyzer?: IncidentAnalysis['analyzer'];
  readonly likelyCause?: string;
  readonly remediation?: readonly string[];
  readonly resolution?: string;
  readonly resolvedAtMs?: number;
}

interface StoredPassage {
  readonly source: string;
  readonly heading: string;
  readonly text: string;
}

export interface RunbookChunk {
  readonly heading: string;
  readonly text: string;
}

export interface ChunkOptions {
  /** Longest chunk body, characters. */
  readonly maxChars: number;
  /** Characters a long section's next chunk repeats from the previous one. */
  readonly overlapChars: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { maxChars: 1200, overlapChars: 200 };

/**
 * Splits Markdown at headings (outside code fences); each chunk is titled by
 * its heading path ("DB pool > Mitigation"), so a passage found alone still
 * says where it came from. A section longer than maxChars is cut into
 * windows that overlap by overlapChars, at a paragraph or word boundary.
 */
export function chunkMarkdown(text: string, options: ChunkOptions = DEFAULT_CHUNKING): RunbookChunk[] {
  const sections: { path: string[]; lines: string[] }[] = [];
  const path: string[] = [];
  let current: { path: string[]; lines: string[] } = { path: [], lines: [] };
  let fenced = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) {
      sections.push(current);
      const level = heading[1]!.length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push('');
      path.push(heading[2]!);
      current = { path: path.filter(Boolean), lines: [] };
    } else {
      current.lines.push(line);
    }
  }
  sections.push(current);
  const chunks: RunbookChunk[] = [];
  for (const section of sections) {
    const body = section.lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    if (body === '') continue;
    const heading = section.path.join(' > ');
    for (const window of windows(body, options)) chunks.push({ heading, text: window });
  }
  return chunks;
}

function windows(body: string, { maxChars, overlapChars }: ChunkOptions): string[] {
  if (body.length <= maxChars) return [body];
  const out: string[] = [];
  let start = 0;
  while (start < body.length) {
    let end = Math.min(body.length, start + maxChars);
    if (end < body.length) {
      const paragraph = body.lastIndexOf('\n\n', end);
      const space = body.lastIndexOf(' ', end);
      const cut = paragraph > start + maxChars / 2 ? paragraph : space > start + maxChars / 2 ? space : end;
      end = cut;
    }
    out.push(body.slice(start, end).trim());
    if (end >= body.length) break;
    let next = Math.max(start + 1, end - overlapChars);
    const space = body.indexOf(' ', next);
    if (space > 0 && space < end) next = space + 1;
    start = next;
  }
  return out.filter(Boolean);
}

/**
 * The text an incident is embedded and prompted with: service, masked
 * template, exception type and the first occurrence's message, redacted.
 */
export function incidentText(candidate: IncidentCandidate, redactor: Redactor): string {
  const lines = [`service: ${candidate.service}`, `error: ${candidate.template}`];
  if (candidate.sample.exception) lines.push(`exception: ${candidate.sample.exception}`);
  if (candidate.sample.message && candidate.sample.message !== candidate.template) lines.push(`example: ${candidate.sample.message}`);
  return redactor.redact(lines.join('\n'));
}

export function incidentId(fingerprint: string): string {
  return `incident:${fingerprint}`;
}

export interface KnowledgeBaseOptions {
  readonly collection: VectorCollection;
  readonly embedder: Embedder;
  readonly redactor: Redactor;
  readonly events: RagEventBus;
  readonly now?: () => number;
}

export class KnowledgeBase {
  readonly #now: () => number;

  constructor(private readonly options: KnowledgeBaseOptions) {
    this.#now = options.now ?? Date.now;
  }

  get collection(): VectorCollection {
    return this.options.collection;
  }

  /** Replaces every chunk of each file: re-ingesting an edited runbook leaves no stale passage. */
  async ingestRunbook(source: string, markdown: string, signal?: AbortSignal): Promise<number> {
    const { collection, embedder, redactor, events } = this.options;
    const chunks = chunkMarkdown(markdown).map((c) => ({ heading: redactor.redact(c.heading), text: redactor.redact(c.text) }));
    const vectors = chunks.length > 0 ? await embedder.embed(chunks.map((c) => `${c.heading}\n${c.text}`), signal) : [];
    await collection.delete({ kind: 'runbook', source });
    const timeMs = this.#now();
    await collection.upsert(chunks.map((chunk, i) => ({
      id: `runbook:${source}#${i}`,
      vector: vectors[i]!,
      metadata: { kind: 'runbook', service: '', timeMs, source, payload: JSON.stringify({ source, heading: chunk.heading, text: chunk.text } satisfies StoredPassage) },
    })));
    events.emit('rag.kb.stored', { kind: 'runbook', count: chunks.length });
    return chunks.length;
  }

  async similarIncidents(vector: Float32Array, k: number, minSimilarity: number): Promise<SimilarIncident[]> {
    const hits = await this.options.collection.search(vector, k, { kind: 'incident' });
    return hits.filter((h) => h.score >= minSimilarity).map((hit) => {
      const stored = parsePayload<StoredIncident>(hit);
      return {
        fingerprint: stored.fingerprint,
        service: stored.service,
        template: stored.template,
        seenAtMs: stored.seenAtMs,
        similarity: clamp01(hit.score),
        ...(stored.resolution !== undefined ? { resolution: stored.resolution } : {}),
        ...(stored.likelyCause !== undefined ? { likelyCause: stored.likelyCause } : {}),
      };
    });
  }

  /** Best passages, at most `perSource` from one runbook, so three hits are not three paragraphs of one file. */
  async runbookPassages(vector: Float32Array, k: number, minSimilarity: number, perSource = 1): Promise<RunbookPassage[]> {
    const hits = await this.options.collection.search(vector, k * 4, { kind: 'runbook' });
    const taken = new Map<string, number>();
    const passages: RunbookPassage[] = [];
    for (const hit of hits) {
      if (hit.score < minSimilarity || passages.length >= k) break;
      const stored = parsePayload<StoredPassage>(hit);
      const count = taken.get(stored.source) ?? 0;
      if (count >= perSource) continue;
      taken.set(stored.source, count + 1);
      passages.push({ source: stored.source, heading: stored.heading, text: stored.text, similarity: clamp01(hit.score) });
    }
    return passages;
  }

  /** Stores (or refreshes) an analysed incident; keeps an operator's resolution. */
  async recordIncident(candidate: IncidentCandidate, vector: Float32Array, analysis: IncidentAnalysis | undefined): Promise<void> {
    const { collection, redactor, events } = this.options;
    const id = incidentId(candidate.fingerprint);
    const previous = await collection.get(id);
    const before = previous ? parsePayload<StoredIncident>(previous) : undefined;
    const stored: StoredIncident = {
      fingerprint: candidate.fingerprint,
      service: candidate.service,
      template: redactor.redact(candidate.template),
      ...(candidate.sample.exception ? { exception: candidate.sample.exception } : {}),
      seenAtMs: candidate.firstSeenMs,
      firstSeenMs: before?.firstSeenMs ?? candidate.firstSeenMs,
      ...(analysis ? { analyzer: analysis.analyzer } : {}),
      ...(analysis?.likelyCause !== undefined ? { likelyCause: analysis.likelyCause } : before?.likelyCause !== undefined ? { likelyCause: before.likelyCause } : {}),
      ...(analysis?.remediation !== undefined ? { remediation: analysis.remediation } : {}),
      ...(before?.resolution !== undefined ? { resolution: before.resolution, resolvedAtMs: before.resolvedAtMs } : {}),
    };
    await collection.upsert([{ id, vector, metadata: { kind: 'incident', service: candidate.service, timeMs: candidate.firstSeenMs, source: candidate.fingerprint, payload: JSON.stringify(stored) } }]);
    events.emit('rag.kb.stored', { kind: 'incident', count: 1 });
  }

  /** Records how an incident was resolved; false when the fingerprint was never analysed. */
  async resolve(fingerprint: string, resolution: string): Promise<boolean> {
    const { collection, redactor, events } = this.options;
    const item = await collection.get(incidentId(fingerprint));
    if (!item) return false;
    const stored = parsePayload<StoredIncident>(item);
    const updated: StoredIncident = { ...stored, resolution: redactor.redact(resolution.trim()), resolvedAtMs: this.#now() };
    await collection.upsert([{ ...item, metadata: { ...item.metadata, payload: JSON.stringify(updated) } }]);
    events.emit('rag.kb.stored', { kind: 'resolution', count: 1 });
    return true;
  }
}

function parsePayload<T>(item: Pick<SearchHit, 'metadata'>): T {
  return JSON.parse(item.metadata.payload) as T;
}

function clamp01(score: number): number {
  return Math.max(0, Math.min(1, score));
}
