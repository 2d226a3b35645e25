/**
 * Text payloads: one JSON object, or several joined by `\n` (Fluent Bit's
 * `simple_aggregation`), split without parsing (the caller parses each once).
 * Empty and whitespace-only lines are separators, not records; every other
 * line is a sub-record numbered by its index among them.
 *
 * How text is decoded matters for speed on Node 20, where one non-ASCII
 * character makes decoding a whole 100 KB batch 20x slower (the string turns
 * two-byte) and every record parsed from slices of it slower too. So an ASCII
 * payload (nearly all of them) is decoded at once and sliced per line, and
 * any other is decoded line by line: only its non-ASCII lines pay. One UTF-8
 * validity check covers the payload; when it fails, lines are checked one by
 * one, so that one bad line of a batch fails alone instead of taking its
 * neighbours to the DLQ.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { DecodeSink } from './sink.js';

const NEWLINE = 0x0a;
export const OPEN_BRACE = 0x7b;
const ascii = new TextDecoder();

/** JSON whitespace other than the newline that separates records. */
function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d;
}

function hexByte(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Decodes one unit of text (a record, an inflated gzip stream or a KPL
 * sub-record) whose sub-records are numbered from `base`. A unit that does
 * not start with `{` is not JSON lines at all (binary data, another format)
 * and fails as a whole, as one sub-record. The unit is `bytes[from, to)`
 * (a batch passes its whole buffer rather than a view per record).
 * `asciiText`: the unit's text, when the caller checked and decoded it (with
 * its neighbours, in one call each) and found it all ASCII.
 */
export function decodeJsonLines(bytes: Uint8Array, base: number, sink: DecodeSink, asciiText?: string, from = 0, to = bytes.length): void {
  const end = to;
  let first = from;
  while (first < end && (isBlank(bytes[first]!) || bytes[first] === NEWLINE)) first++;
  if (first === end) {
    sink.failure(base, 'empty_payload', end === from ? 'no data' : `only whitespace (${end - from} bytes)`);
    return;
  }
  if (bytes[first] !== OPEN_BRACE) {
    sink.failure(base, 'not_json_object', `expected "{" at byte ${first - from}, found byte ${hexByte(bytes[first]!)}`);
    return;
  }
  // ASCII: one string, sliced per line (byte and character offsets are the
  // same, less `from`). Otherwise a Buffer view (no copy) for its memchr-based
  // indexOf and its decoding of a byte range.
  const unit = asciiText === undefined && (from !== 0 || to !== bytes.length) ? bytes.subarray(from, to) : bytes;
  const text = asciiText ?? (isAscii(unit) ? ascii.decode(unit) : undefined);
  const buffer = text === undefined ? Buffer.from(bytes.buffer, bytes.byteOffset, end) : undefined;
  const valid = buffer === undefined || isUtf8(unit);
  let index = 0;
  let line = 0;
  let start = from;
  while (start < end) {
    let stop = text === undefined ? buffer!.indexOf(NEWLINE, start) : text.indexOf('\n', start - from);
    if (stop === -1) stop = end;
    else if (text !== undefined) stop += from;
    line++;
    first = start;
    while (first < stop && isBlank(bytes[first]!)) first++;
    if (first < stop) {
      if (bytes[first] !== OPEN_BRACE) {
        sink.failure(base + index, 'not_json_object', `line ${line}: expected "{", found byte ${hexByte(bytes[first]!)}`);
      } else if (text !== undefined) {
        sink.text(base + index, start === from && stop === end ? text : text.slice(start - from, stop - from), bytes, start, stop);
      } else if (valid || isUtf8(bytes.subarray(start, stop))) {
        sink.text(base + index, buffer!.toString('utf8', start, stop), bytes, start, stop);
      } else {
        sink.failure(base + index, 'invalid_utf8', `line ${line} (bytes ${start - from}..${stop - from}) is not valid UTF-8`);
      }
      index++;
    }
    start = stop + 1;
  }
}
