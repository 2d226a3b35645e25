/**
 * Building the DLQ's NDJSON: one line per dead letter, one fragment per line,
 * so the writer can cut objects between any two of them.
 */
import type { NdjsonFragment } from '../batching-writer.js';
import { toDeadLetterLine, type DeadLetter } from './dead-letter.js';

export function deadLetterFragment(deadLetter: DeadLetter): NdjsonFragment {
  return { bytes: Buffer.from(`${JSON.stringify(toDeadLetterLine(deadLetter))}\n`), lines: 1 };
}
