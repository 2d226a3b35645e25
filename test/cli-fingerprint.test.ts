import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { LogSimulator } from '../src/simulator/generator.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { runCli, startCli } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cali-fp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cali fingerprint ARGS` with `input` on stdin, then closes stdin. */
async function runWithInput(args: string[], input: string | Buffer): Promise<CliResult> {
  const child = startCli(['fingerprint', ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

describe('cali fingerprint', () => {
  it('prints one fingerprint per input line, in order, for records and raw lines', async () => {
    const simulator = new LogSimulator({ seed: 3, errorRatio: 0.5, invalidRatio: 0 });
    const lines: string[] = [];
    while (lines.length < 200) {
      const event = simulator.next();
      if (event.kind === 'valid') lines.push(JSON.stringify(event.record), event.record.message);
    }
    lines.push('', '{not json', '{"foo": 1}', '[1,2]', 'Jun 14 15:16:01 combo sshd[1]: check pass; user unknown');
    const result = await runWithInput([], `${lines.join('\r\n')}\n`);
    expect(result.status, result.stderr).toBe(0);
    const output = result.stdout.split('\n');
    expect(output.pop()).toBe('');
    expect(output).toHaveLength(lines.length);
    const fingerprint = compileFingerprinter();
    expect(output[0]).toBe(fingerprint(JSON.parse(lines[0]!) as object).fingerprint);
    expect(output[1]).toBe(fingerprint({ message: lines[1] }).fingerprint);
    expect(output.at(-2)).toBe(fingerprint({ message: '[1,2]' }).fingerprint);
    for (const line of output) expect(line).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers each line before stdin closes (a filter that flushes as it goes)', async () => {
    const child = startCli(['fingerprint', '--json']);
    const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    for (const message of ['Retry 1 of job 7', 'Retry 2 of job 9', 'Disk full on /dev/sda1']) {
      child.stdin.write(`${JSON.stringify({ message, service: 'jobs', level: 'WARN' })}\n`);
      const answer = await answers.next();
      const parsed = JSON.parse(answer.value as string) as Record<string, unknown>;
      expect(parsed).toMatchObject({ kind: 'message', service: 'jobs', level: 'warn', exception: null, frames: [] });
      expect(parsed.template).toBe(message.startsWith('Retry') ? 'Retry <*> of job <*>' : 'Disk full on <*>');
    }
    child.stdin.end();
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
  });

  it('--json shows the exception chain and frames of a stack trace; --explain the key', async () => {
    const simulator = new LogSimulator({ seed: 1, errorRatio: 1, invalidRatio: 0, storm: { periodMs: 1000, durationMs: 1000, multiplier: 50, scenarioId: 'db-pool-exhausted' } });
    let record: object | undefined;
    while (!record) {
      const event = simulator.next();
      if (event.kind === 'valid' && event.label === 'db-pool-exhausted') record = event.record;
    }
    const json = await runWithInput(['--json'], `${JSON.stringify(record)}\n`);
    const parsed = JSON.parse(json.stdout) as { kind: string; exception: string[]; frames: string[]; service: string; level: string };
    expect(parsed).toMatchObject({ kind: 'stack', service: 'order-service', level: 'error' });
    expect(parsed.exception).toEqual(['org.springframework.transaction.CannotCreateTransactionException', 'java.sql.SQLTransientConnectionException']);
    expect(parsed.frames).toContain('com.acme.orders.web.OrderController.create');
    const explained = await runWithInput(['--explain'], `${JSON.stringify(record)}\n`);
    expect(explained.stdout).toMatch(/^fingerprint [0-9a-f]{16} \(stack trace\)\n/);
    expect(explained.stdout).toContain('root cause: java.sql.SQLTransientConnectionException');
    expect(explained.stdout).toMatch(/template \(not in key\): Failed to place order <\*> for customer <\*>/);
    expect(explained.stdout).toContain('key: cali-fp-2 | service=order-service | level=error | stack |');
  });

  it('takes a configuration file and reports its errors with the field and the fix', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ keyFields: [] }));
    const a = await runWithInput(['--config', good], '{"message":"x 1","service":"a"}\n{"message":"x 2","service":"b"}\n');
    const [first, second] = a.stdout.split('\n');
    expect(first).toBe(second);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ maxFramesPerException: 99 }));
    const b = runCli(['fingerprint', '--config', bad]);
    expect(b.status).toBe(1);
    expect(b.stderr).toBe(`cali: ${bad}: maxFramesPerException is invalid (got 99): use a whole number from 1 to 50\n`);

    writeFileSync(bad, '{"keyFields": [');
    expect(runCli(['fingerprint', '--config', bad]).stderr).toMatch(/is not valid JSON .*: fix the syntax/);
    expect(runCli(['fingerprint', '--config', join(dir, 'missing.json')]).stderr).toMatch(/cannot be read \(ENOENT\)/);
  });

  it('survives binary input, invalid UTF-8 and a line longer than its limit', async () => {
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a]), Buffer.alloc(5 * 1024 * 1024, 0x61), Buffer.from('\nok 1\n')]);
    const result = await runWithInput([], binary);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(compileFingerprinter()({ message: 'ok 1' }).fingerprint);
  });

  it('exits quietly when the reader goes away', async () => {
    const child = startCli(['fingerprint']);
    child.stdin.on('error', () => undefined); // the child may be gone before all input is written
    child.stdout.destroy();
    child.stdin.end('a\n'.repeat(200_000));
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
  });
});
