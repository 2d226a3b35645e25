/**
 * Reading back what the DLQ and archive sinks wrote: objects listed in key
 * order (optionally only those started within a time window), each streamed,
 * gunzipped when it is gzip, and split into lines. Bounded memory: one object
 * at a time, one line at a time.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { IValidation } from 'typia';
import { hourPrefix, objectStartMs } from './object-key.js';
import type { ObjectStore, ObjectSummary } from './object-store/object-store.js';

/**
 * Selects objects by their start time (in the key): fromMs inclusive, toMs
 * exclusive. An object holds items that arrived up to maxObjectAgeMs after
 * its start, so widen fromMs by that to catch every item of a window, and
 * filter the items themselves if the edges matter.
 */
export interface TimeWindow {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
}

export interface WrittenObject extends ObjectSummary {
  readonly startMs: number;
}

export interface ObjectLine {
  /** 1-based, counting every `\n`-terminated line, empty ones included. */
  readonly lineNumber: number;
  /** The line without its `\n`; may share memory with a read buffer: copy it to keep many. */
  readonly bytes: Buffer;
}

/** Where a line departs from its type; typia's own error without the offending value (it may be a whole record). */
export interface LineIssue {
  readonly path: string;
  readonly expected: string;
}

export type ParseResult<T> = { readonly success: true; readonly data: T } | { readonly success: false; readonly errors: readonly LineIssue[] };

/** A line that is not what the sink writes: the reader stops rather than skip data silently. */
export class ObjectFormatError extends Error {
  readonly code = 'object_format';

  constructor(readonly objectKey: string, readonly lineNumber: number, readonly errors: readonly LineIssue[]) {
    const summary = errors
      .slice(0, 3)
      .map((error) => `${error.path}: expected ${error.expected}`)
      .join('; ');
    super(`${objectKey} line ${lineNumber} is not a valid line: ${summary}`);
    this.name = 'ObjectFormatError';
  }
}

/** JSON.parse then a compiled typia validator; malformed JSON is a failure value, not an exception. */
export function parseJsonLine<T>(text: string, validate: (input: unknown) => IValidation<T>): ParseResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not V8's message: it quotes the input, which may be a record with personal data.
    return { success: false, errors: [{ path: '$input', expected: 'a JSON value' }] };
  }
  const result = validate(value);
  return result.success ? { success: true, data: result.data } : { success: false, errors: result.errors.map(({ path, expected }) => ({ path, expected })) };
}

/** Objects written under the key scheme, in key order; other keys under the destination are ignored. */
export async function* listObjectsInWindow(store: ObjectStore, window: TimeWindow = {}): AsyncGenerator<WrittenObject> {
  const { fromMs, toMs } = window;
  // Keys of an hour sort after its bare `YYYY/MM/DD/HH/` prefix: start the listing there.
  const startAfter = fromMs === undefined ? undefined : hourPrefix(fromMs);
  const lastHour = toMs === undefined ? undefined : hourPrefix(toMs - 1);
  for await (const object of store.list('', { startAfter })) {
    if (lastHour !== undefined && object.key > lastHour && !object.key.startsWith(lastHour)) return;
    const startMs = objectStartMs(object.key);
    if (startMs === undefined) continue;
    if ((fromMs !== undefined && startMs < fromMs) || (toMs !== undefined && startMs >= toMs)) continue;
    yield { ...object, startMs };
  }
}

const GZIP_FIRST_BYTE = 0x1f;
const NEWLINE = 0x0a;

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    for (;;) {
      const next = await rest.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // Stopping early must release the source (an HTTP response, a file handle).
    await rest.return?.();
  }
}

/**
 * Gzip is recognised by its magic byte, not by key or Content-Encoding: an
 * NDJSON line starts with "{", never 0x1f, and a client that already decoded
 * a `Content-Encoding: gzip` object hands us plain NDJSON.
 */
async function* decoded(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  let first = await chunks.next();
  while (first.done !== true && first.value.byteLength === 0) first = await chunks.next();
  if (first.done === true) return;
  const all = prepend(first.value, chunks);
  if (first.value[0] !== GZIP_FIRST_BYTE) {
    yield* all;
    return;
  }
  // 256 KiB output chunks instead of 16 KiB: a sixteenth of the thread-pool round trips on an 8 MiB object.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // Errors on either side reach the loop below through gunzip's iterator; leaving the loop early destroys both.
  pipeline(Readable.from(all), gunzip, () => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ObjectLine> {
  let carry: Buffer[] = [];
  let lineNumber = 0;
  for await (const chunk of chunks) {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let newline = buffer.indexOf(NEWLINE, start); newline !== -1; newline = buffer.indexOf(NEWLINE, start)) {
      const piece = buffer.subarray(start, newline);
      const bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      lineNumber++;
      if (bytes.byteLength > 0) yield { lineNumber, bytes };
      start = newline + 1;
    }
    if (start < buffer.byteLength) carry.push(buffer.subarray(start));
  }
  // Objects end with "\n"; a last line without one is passed on for the parser to judge.
  if (carry.length > 0) yield { lineNumber: lineNumber + 1, bytes: Buffer.concat(carry) };
}

/** The non-empty lines of one object, decompressed if it is gzip. */
export async function* objectLines(store: ObjectStore, key: string): AsyncGenerator<ObjectLine> {
  yield* splitLines(decoded(await store.get(key)));
}
