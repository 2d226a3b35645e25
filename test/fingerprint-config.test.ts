import { describe, expect, it } from 'vitest';
import { DEFAULT_FINGERPRINT_CONFIG, resolveFingerprintConfig } from '../src/workers/fingerprint/config.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';

function errorOf(input: unknown): { code?: string; message: string } {
  try {
    resolveFingerprintConfig(input, 'fp.json');
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a configuration error');
}

describe('fingerprint configuration', () => {
  it('fills defaults and freezes the result', () => {
    const config = resolveFingerprintConfig({ inAppPrefixes: ['com.acme.'] });
    expect(config).toEqual({ ...DEFAULT_FINGERPRINT_CONFIG, inAppPrefixes: ['com.acme.'] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.inAppPrefixes)).toBe(true);
    expect(compileFingerprinter().config).toEqual(DEFAULT_FINGERPRINT_CONFIG);
  });

  it.each([
    [{ maxFramesPerException: 0 }, /^fp\.json: maxFramesPerException is invalid \(got 0\): use a whole number from 1 to 50$/],
    [{ maxFramesPerException: 2.5 }, /maxFramesPerException is invalid \(got 2\.5\)/],
    [{ keyFields: ['service', 'host'] }, /^fp\.json: keyFields\[1\] is invalid \(got "host"\): use a list of distinct values/],
    [{ keyFields: ['service', 'service'] }, /^fp\.json: keyFields lists a field twice/],
    [{ inAppPrefixes: [''] }, /inAppPrefixes\[0\] is invalid \(got ""\): use a list of up to 256 non-empty/],
    [{ stackKeyIncludesMessage: 'yes' }, /stackKeyIncludesMessage is invalid \(got "yes"\): use true or false/],
    [{ inAppPrefix: ['com.acme.'] }, /^fp\.json: inAppPrefix is not a known setting: remove it; known settings: keyFields, inAppPrefixes/],
    [{ extraMasks: [{ name: 'Order', pattern: 'x' }] }, /extraMasks\[0\]\.name is invalid \(got "Order"\)/],
    [{ extraMasks: [{ name: 'order', pattern: '(' }] }, /extraMasks\[0\]\.pattern is not a valid regular expression .*: fix the pattern/],
    [{ extraMasks: [{ name: 'order', pattern: '(a+)+$' }] }, /extraMasks\[0\]\.pattern may backtrack catastrophically/],
    [{ extraMasks: [{ name: 'order', pattern: 'x*' }] }, /extraMasks\[0\]\.pattern matches the empty string/],
    [{ extraMasks: [{ name: 'a', pattern: 'x' }, { name: 'a', pattern: 'y' }] }, /extraMasks\[1\]\.name repeats "a"/],
    [[], /is not a JSON object/],
  ])('rejects %j naming the field and the fix', (input, message) => {
    const error = errorOf(input);
    expect(error.code).toBe('CALI_ERR_CONFIG');
    expect(error.message).toMatch(message);
  });

  it('changes fingerprints only through the key it configures', () => {
    const event = { message: 'disk full on /dev/sda1', service: 'a', level: 'ERROR' };
    expect(compileFingerprinter({ maxMessageChars: 64 })(event).fingerprint).toBe(compileFingerprinter()(event).fingerprint);
    expect(compileFingerprinter({ keyFields: ['service'] })(event).fingerprint).not.toBe(compileFingerprinter()(event).fingerprint);
  });
});
