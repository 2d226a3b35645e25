import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { CaliError } from '../../errors.js';
import { resolveFingerprintConfig } from '../../workers/fingerprint/config.js';
import {
  compileFingerprinter, levelClass, type Fingerprint, type FingerprintExplanation, type Fingerprinter, type FingerprintInput,
} from '../../workers/fingerprint/fingerprint.js';

interface FingerprintFlags {
  json: boolean;
  explain: boolean;
  config?: string;
}

/**
 * Longest input line kept; the rest of a longer line is skipped (its
 * fingerprint comes from the kept part), so one endless line cannot exhaust
 * memory. Larger than any record our schema allows (256 KiB of log_content).
 */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export function registerFingerprint(program: Command): void {
  program
    .command('fingerprint')
    .description('read events on stdin, one per line (a JSON log record, or a raw message line), and print one fingerprint per line')
    .option('--json', 'print a JSON object per line: fingerprint, kind, template, exception chain, frames, service, level', false)
    .option('--explain', 'print how each fingerprint was made: the key, frames, template and what was masked', false)
    .option('--config <file>', 'JSON file with fingerprint settings (see docs/fingerprinting.md); defaults otherwise')
    .addHelpText('after', `
Multi-line events (stack traces) can only come in as JSON records, in their
log_content field: a line that is not a JSON object with a string "message" or
"log_content" is fingerprinted as a message. Output is flushed as it goes, so
it works as a filter: cali simulate --stdout ... | cali fingerprint.`)
    .action(async (flags: FingerprintFlags) => {
      const fingerprinter = compileFingerprinter(flags.config ? await loadConfigFile(flags.config) : {});
      // `cali fingerprint | head` closes the pipe early: that ends the filter, it is not an error.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(0);
        throw error;
      });
      const format = flags.explain ? (flags.json ? explainJson : explainText) : flags.json ? summaryJson : (f: Fingerprint) => f.fingerprint;
      await fingerprintStream(process.stdin, process.stdout, fingerprinter, flags.explain, format);
    });
}

async function loadConfigFile(file: string): Promise<ReturnType<typeof resolveFingerprintConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CaliError('CALI_ERR_CONFIG', `--config ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): pass the path of a JSON file`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CaliError('CALI_ERR_CONFIG', `${file} is not valid JSON (${(error as Error).message}): fix the syntax`);
  }
  return resolveFingerprintConfig(value, file);
}

/** A JSON object with a string `message` or `log_content` is a record; anything else is a message line. */
export function parseInputLine(line: string): FingerprintInput {
  if (line.charCodeAt(0) === 0x7b /* { */ || line.trimStart().startsWith('{')) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        if (typeof record.message === 'string' || typeof record.log_content === 'string') return record as FingerprintInput;
      }
    } catch {
      // Not JSON after all: a message that starts with a brace.
    }
  }
  return { message: line };
}

/**
 * Reads lines from `input` and writes one result per line to `output`, in
 * order. Results of each chunk are written together, and a full output buffer
 * pauses reading (backpressure), so memory stays bounded on any input size.
 */
export async function fingerprintStream(
  input: Readable, output: Writable, fingerprinter: Fingerprinter, explain: boolean,
  format: (f: FingerprintExplanation & Fingerprint, input: FingerprintInput) => string,
): Promise<void> {
  const decoder = new TextDecoder('utf-8');
  const fingerprintLine = (bytes: Uint8Array): string => {
    let line = decoder.decode(bytes);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const event = parseInputLine(line);
    const result = explain ? fingerprinter.explain(event) : fingerprinter(event);
    return `${format(result as FingerprintExplanation, event)}\n`;
  };

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let out = '';
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      keep(chunk.subarray(start, newline));
      out += fingerprintLine(Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
      start = newline + 1;
    }
    keep(chunk.subarray(start));
    if (out !== '' && !output.write(out)) await once(output, 'drain');
  }
  if (pendingBytes > 0) {
    if (!output.write(fingerprintLine(Buffer.concat(pending, pendingBytes)))) await once(output, 'drain');
  }

  function keep(part: Buffer): void {
    const room = MAX_LINE_BYTES - pendingBytes;
    if (room <= 0 || part.length === 0) return;
    const kept = part.length > room ? part.subarray(0, room) : part;
    // Copy: the chunk's memory must not stay referenced by a long pending line.
    pending.push(Buffer.from(kept));
    pendingBytes += kept.length;
  }
}

function summary(f: Fingerprint, input: FingerprintInput): Record<string, unknown> {
  return {
    fingerprint: f.fingerprint,
    kind: f.kind,
    template: f.template,
    exception: f.exceptions.length > 0 ? f.exceptions.map((e) => e.type) : null,
    frames: f.exceptions.flatMap((e) => e.frames),
    service: typeof input.service === 'string' ? input.service : null,
    level: typeof input.level === 'string' ? levelClass(input.level) : null,
  };
}

function summaryJson(f: Fingerprint, input: FingerprintInput): string {
  return JSON.stringify(summary(f, input));
}

function explainJson(f: FingerprintExplanation, input: FingerprintInput): string {
  return JSON.stringify({ ...summary(f, input), exceptions: f.exceptions, fields: f.fields, key: f.key, masked: f.masked });
}

function explainText(f: FingerprintExplanation): string {
  const lines = [`fingerprint ${f.fingerprint} (${f.kind === 'stack' ? 'stack trace' : 'message template'})`];
  const fields = Object.entries(f.fields).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  lines.push(`  fields in key: ${fields.length > 0 ? fields.join(' ') : '(none)'}`);
  f.exceptions.forEach((e, i) => {
    lines.push(`  ${i === 0 ? 'exception' : i === f.exceptions.length - 1 ? 'root cause' : 'caused by'}: ${e.type || '(type not printed)'}`);
    for (const frame of e.frames) lines.push(`    at ${frame}`);
  });
  lines.push(`  template${f.kind === 'stack' && !f.key.includes('\u001fmessage\u001f') ? ' (not in key)' : ''}: ${f.template}`);
  if (f.masked.length > 0) lines.push(`  masked: ${f.masked.map((m) => `${JSON.stringify(m.text)} (${m.kind})`).join(', ')}`);
  lines.push(`  key: ${f.key.replaceAll('\u001f', ' | ').replaceAll('\u001e', ' > ')}`, '');
  return lines.join('\n');
}
