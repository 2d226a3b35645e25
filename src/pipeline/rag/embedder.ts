/**
 * Embedders turn redacted text into unit vectors. The model id names the
 * vector space: a collection remembers the id it was built with and refuses
 * vectors from another (see vector-store.ts), because cosine similarity
 * across two spaces is meaningless.
 *
 * The local embedder is the default: deterministic, no network, no model
 * file. It hashes features of the text into a fixed number of dimensions
 * (the "hashing trick"): words after the fingerprint templater masked the
 * variables (ids, numbers, addresses become `<*>`), word pairs, and character
 * trigrams of identifiers split at dots and camelCase, so
 * `HikariPool.getConnection` and `Connection is not available` share
 * features. Values a templater misses still vary between occurrences of one
 * incident; masking keeps them from diluting the vector.
 */
import { compileTemplater, type Templater } from '../../workers/fingerprint/template.js';

export interface Embedder {
  /** Names the vector space, e.g. `local-hash-v1:256` or `openai:text-embedding-3-small:512`. */
  readonly modelId: string;
  readonly dimension: number;
  /** One unit vector per text, in order. Texts must already be redacted. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

export const LOCAL_EMBEDDER_VERSION = 'local-hash-v1';

/** FNV-1a 32-bit; the top bit of a second mix picks the sign, so collisions cancel instead of pile up. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD = /[A-Za-z][A-Za-z0-9]*|<\*>/g;
const CAMEL = /[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])/g;

/** Words that carry no signal in log lines. */
const STOP = new Set(['the', 'a', 'an', 'of', 'for', 'to', 'in', 'on', 'at', 'is', 'be', 'by', 'and', 'or', 'from', 'with', 'after', 'was', 'java', 'base', 'lang']);

export interface LocalEmbedderOptions {
  /** Vector length; more dimensions, fewer hash collisions, slower search. */
  readonly dimension: number;
}

export class LocalEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension: number;
  readonly #templater: Templater;

  constructor(options: LocalEmbedderOptions) {
    if (!Number.isInteger(options.dimension) || options.dimension < 16 || options.dimension > 4096) {
      throw new RangeError(`dimension must be a whole number from 16 to 4096, got ${options.dimension}`);
    }
    this.dimension = options.dimension;
    this.modelId = `${LOCAL_EMBEDDER_VERSION}:${options.dimension}`;
    this.#templater = compileTemplater({ extraMasks: [], maxMessageChars: 8192 });
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimension);
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number): void => {
      counts.set(feature, (counts.get(feature) ?? 0) + weight);
    };
    for (const line of text.split('\n')) {
      const masked = this.#templater(line);
      let previous: string | undefined;
      for (const match of masked.matchAll(WORD)) {
        const raw = match[0];
        if (raw === '<*>') {
          previous = undefined;
          continue;
        }
        const word = raw.toLowerCase();
        if (STOP.has(word)) continue;
        add(`w:${word}`, 1);
        if (previous !== undefined) add(`b:${previous} ${word}`, 0.7);
        previous = word;
        const parts = raw.match(CAMEL);
        if (parts && parts.length > 1) for (const part of parts) if (part.length > 2) add(`w:${part.toLowerCase()}`, 0.5);
        if (word.length >= 4) {
          const padded = `^${word}$`;
          for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.15);
        }
      }
    }
    for (const [feature, count] of counts) {
      const h = hash32(feature);
      const index = h % this.dimension;
      const sign = (hash32(`${feature}#`) & 1) === 0 ? 1 : -1;
      // Sublinear term frequency: a word repeated in every frame must not drown the rest.
      vector[index]! += sign * (1 + Math.log(1 + count));
    }
    return normalise(vector);
  }
}

/** Scales to unit length in place (a zero vector stays zero: it matches nothing). */
export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i]! *= scale;
  return vector;
}
