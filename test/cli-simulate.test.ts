import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support/cli.js';

const HEADER = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (?:TRACE|DEBUG|INFO |WARN |WARNING|ERROR|CRITICAL|FATAL) \[[a-z-]+\] /;

describe('cali simulate', () => {
  it('prints raw application lines to stdout, the same for the same seed', () => {
    const args = ['simulate', '--stdout', '--count', '300', '--seed', '7', '--error-ratio', '0.3', '--invalid-ratio', '0',
      '--rate', '100000', '--start-time', '2026-11-29T10:00:00Z'];
    const first = runCli(args);
    expect(first.status, first.stderr).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    const headers = lines.filter((l) => HEADER.test(l));
    expect(headers.length).toBe(300);
    expect(headers[0]).toMatch(/^2026-11-29T10:00:00\.000Z /);
    expect(lines.length).toBeGreaterThan(headers.length + 15 * 50);
    expect(lines.some((l) => l.startsWith('\tat com.acme.'))).toBe(true);
    expect(lines.some((l) => l === 'Traceback (most recent call last):')).toBe(true);
    expect(runCli(args).stdout).toBe(first.stdout);
    expect(runCli([...args.slice(0, -2)]).stdout).not.toBe(first.stdout);
  });

  it('stops start-up with a message naming a missing setting', () => {
    const result = runCli(['simulate', '--count', '1'], cliEnv({ CALI_STREAM_NAME: undefined, AWS_REGION: 'us-east-1' }));
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^cali: CALI_STREAM_NAME is not set: set it to/);
  });

  it('rejects a bad endpoint URL naming the variable', () => {
    const result = runCli(['simulate', '--count', '1'], cliEnv({ CALI_STREAM_NAME: 's', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_KINESIS: 'localhost:4567' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^cali: AWS_ENDPOINT_URL_KINESIS must be http or https/);
  });

  it('rejects bad option values with a usage error', () => {
    for (const args of [['--rate', '0'], ['--error-ratio', '1.5'], ['--count', 'many'], ['--storm-scenario', 'nope']]) {
      const result = runCli(['simulate', '--stdout', ...args]);
      expect(result.status, args.join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(/error: option/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('has --help for every command', () => {
    for (const command of [[], ['simulate'], ['stack'], ['local']]) {
      const result = runCli([...command, '--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: cali/);
    }
  });
});
