/**
 * Bounded memoisation for the fingerprint hot path. Frames and field values
 * repeat across events by the thousand, so their normalised forms are cached;
 * the caches hold only what they were given (copied, see detach) and never
 * more than a fixed number of entries, whatever the input.
 */

/**
 * A least-recently-used cache approximated with two generations: entries go
 * into the young map, a hit in the old map moves the entry to the young one,
 * and when the young map is full it becomes the old one (the previous old one
 * is dropped). An entry used at least once per `capacity` insertions stays;
 * at most 2 x `capacity` entries are held. O(1) per lookup, unlike an exact LRU
 * that reorders a map on every hit.
 */
export class GenerationalCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  get(key: string): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  /** Stores `value` under `key`; the caller passes a key that does not keep a larger string alive (detach). */
  set(key: string, value: V): void {
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/**
 * A copy of a string that does not keep a larger one alive: V8 represents a
 * slice of 13+ characters as a view into its source (a 256 KiB log_content,
 * say), and a cache must not hold sources. Concatenating flattens into a new
 * string; slicing that keeps only the copy alive. Shorter slices are copies.
 */
export function detach(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}
