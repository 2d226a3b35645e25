import { describe, expect, it } from 'vitest';
import { BUILT_IN_REDACTIONS, RedactionConfigError, Redactor } from '../src/pipeline/redaction.js';

describe('Redactor', () => {
  const redactor = new Redactor();

  it.each([
    ['email', 'login failed for jane.doe+ops@mail.example.co.uk', 'jane.doe'],
    ['url password', 'jdbc:postgresql://admin:s3cret@db.internal:5432/orders', 's3cret'],
    ['key=value', 'retrying with api_key=AbC123xyz and password: "hunter2"', 'hunter2'],
    ['json secret', '{"client_secret":"c2VjcmV0"}', 'c2VjcmV0'],
    ['bearer', 'Authorization: Bearer abcdef0123456789', 'abcdef0123456789'],
    ['jwt', 'cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_part-1', 'eyJzdWIi'],
    ['card', 'charged 4111 1111 1111 1111 ok', '4111 1111'],
    ['aws key', 'using AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['slack token', 'xoxb-123456789012-abcdefghij', 'abcdefghij'],
    ['slack webhook', 'posting to https://hooks.slack.com/services/T000/B000/XXXXXXXX', 'T000/B000'],
    ['openai key', 'sk-proj-abcdefghijklmnopqrstuvwx', 'abcdefghijklmnop'],
    ['private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----', 'MIIEow'],
  ])('removes a %s', (_kind, text, secret) => {
    const out = redactor.redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED:');
  });

  it('keeps what is not secret: timestamps, ids, non-Luhn digit runs, the key names', () => {
    const text = 'order 4111111111111112 at 1764412345678 took 1234 ms; password=x tokens_used 12';
    const out = redactor.redact(text);
    expect(out).toBe('order 4111111111111112 at 1764412345678 took 1234 ms; password=[REDACTED:secret] tokens_used 12');
  });

  it('keeps the scheme and host of a URL with credentials', () => {
    expect(redactor.redact('redis://default:pw@cache:6379/0')).toBe('redis://[REDACTED:credentials]@cache:6379/0');
  });

  it('is idempotent', () => {
    const once = redactor.redact('mail bob@example.com token=abc Bearer abcdefgh12345');
    expect(redactor.redact(once)).toBe(once);
  });

  it('applies operator patterns and can turn a built-in rule off', () => {
    const custom = new Redactor({ extraPatterns: [{ name: 'employee_id', pattern: 'EMP-[0-9]{6}' }], disable: ['email'] });
    expect(custom.redact('EMP-123456 mailed ops@example.com')).toBe('[REDACTED:employee_id] mailed ops@example.com');
  });

  it.each([
    [{ extraPatterns: [{ name: 'x', pattern: '(a+)+$' }] }, 'redaction.patterns[0].pattern'],
    [{ extraPatterns: [{ name: 'x', pattern: '(' }] }, 'redaction.patterns[0].pattern'],
    [{ extraPatterns: [{ name: 'x', pattern: 'a*' }] }, 'redaction.patterns[0].pattern'],
    [{ extraPatterns: [{ name: 'bad name', pattern: 'a' }] }, 'redaction.patterns[0].name'],
    [{ disable: ['nope'] }, 'redaction.disable'],
  ])('refuses a bad configuration and names the setting', (options, field) => {
    expect(() => new Redactor(options)).toThrow(RedactionConfigError);
    try {
      new Redactor(options);
    } catch (error) {
      expect((error as RedactionConfigError).field).toBe(field);
    }
  });

  it('lists its built-in rules', () => {
    expect(BUILT_IN_REDACTIONS).toContain('card_number');
  });
});
