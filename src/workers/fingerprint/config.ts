/**
 * Fingerprint configuration: the type is the documentation. A deployment sets
 * only what differs from the defaults (a JSON object, validated by the compiled
 * typia validator below; unknown fields are rejected), and
 * `resolveFingerprintConfig` turns it into a frozen, complete configuration
 * once, before any event is fingerprinted. Errors name the field and the fix.
 */
import typia, { type tags } from 'typia';
import safeRegex from 'safe-regex2';
import { CaliError } from '../../errors.js';

/** Record fields that may separate otherwise identical events. */
export type KeyField = 'service' | 'level' | 'logger' | 'namespace';

export interface ExtraMask {
  /** Shown by `--explain` for what this pattern masked. */
  name: string & tags.MinLength<1> & tags.MaxLength<64> & tags.Pattern<'^[a-z][a-z0-9_-]*$'>;
  /** JavaScript regular expression source, applied to the message before the built-in rules. */
  pattern: string & tags.MinLength<1> & tags.MaxLength<512>;
  ignoreCase?: boolean;
}

type Prefix = string & tags.MinLength<1> & tags.MaxLength<256>;

export interface FingerprintConfig {
  /**
   * Fields in the key besides the trace or template: with `service`, the same
   * error in two services is two incidents; `level` is the level class
   * (debug, info, warn, error, fatal), so WARN and WARNING are one.
   */
  keyFields: KeyField[] & tags.MaxItems<4>;
  /**
   * Package (Java, `com.acme.`) or module (Python, `inventory`) prefixes of your
   * own code. Empty: every frame outside well-known library packages, Python
   * site-packages and the standard library counts as in-app.
   */
  inAppPrefixes: Prefix[] & tags.MaxItems<256>;
  /** Frames whose class, module or file starts with one of these are never used. */
  ignoreFramePrefixes: Prefix[] & tags.MaxItems<256>;
  /** In-app frames per exception of a chain that go into the key, from the throwing frame outwards. */
  maxFramesPerException: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<50>;
  /** Exceptions of a cause chain that go into the key (outermost first, root cause always included). */
  maxChainedExceptions: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<20>;
  /** Also key stack-trace events on the message template (Sentry does not; default off). */
  stackKeyIncludesMessage: boolean;
  /** Deployment-specific variable tokens (order numbers, tenant ids...), masked before the built-in rules. */
  extraMasks: ExtraMask[] & tags.MaxItems<64>;
  /** Longest message prefix that is templated; the rest is ignored (bounded time per event). */
  maxMessageChars: number & tags.Type<'uint32'> & tags.Minimum<64> & tags.Maximum<65536>;
  /** Longest raw event prefix scanned for a stack trace. */
  maxTraceChars: number & tags.Type<'uint32'> & tags.Minimum<1024> & tags.Maximum<4194304>;
}

export const DEFAULT_FINGERPRINT_CONFIG: Readonly<FingerprintConfig> = Object.freeze({
  keyFields: ['service', 'level'] as KeyField[],
  inAppPrefixes: [],
  ignoreFramePrefixes: [],
  maxFramesPerException: 5,
  maxChainedExceptions: 8,
  stackKeyIncludesMessage: false,
  extraMasks: [],
  maxMessageChars: 4096,
  maxTraceChars: 262144,
});

const validatePartialConfig = typia.createValidateEquals<Partial<FingerprintConfig>>();

/** How to fix each field, for error messages. */
const FIXES: Record<keyof FingerprintConfig, string> = {
  keyFields: 'use a list of distinct values from "service", "level", "logger", "namespace"',
  inAppPrefixes: 'use a list of up to 256 non-empty package or module prefixes, e.g. ["com.acme.", "inventory"]',
  ignoreFramePrefixes: 'use a list of up to 256 non-empty class, module or file prefixes',
  maxFramesPerException: 'use a whole number from 1 to 50',
  maxChainedExceptions: 'use a whole number from 1 to 20',
  stackKeyIncludesMessage: 'use true or false',
  extraMasks: 'use a list of up to 64 objects {"name": "order-id", "pattern": "ORD-[0-9]+", "ignoreCase": false}',
  maxMessageChars: 'use a whole number from 64 to 65536',
  maxTraceChars: 'use a whole number from 1024 to 4194304',
};

function configError(where: string, field: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${where}: ${field} ${problem}: ${fix}`);
}

/** `$input.extraMasks[0].pattern` -> `extraMasks[0].pattern`. */
function fieldOf(path: string): string {
  return path.replace(/^\$input\.?/, '') || '(the configuration)';
}

/**
 * Validates a parsed JSON value as a (partial) fingerprint configuration and
 * fills in the defaults. `where` names the source in errors (a file name).
 */
export function resolveFingerprintConfig(input: unknown, where = 'fingerprint config'): Readonly<FingerprintConfig> {
  const result = validatePartialConfig(input);
  if (!result.success) {
    const first = result.errors[0]!;
    const field = fieldOf(first.path);
    const top = field.split(/[.[]/, 1)[0] as keyof FingerprintConfig;
    if (first.expected === 'undefined') {
      throw configError(where, field, 'is not a known setting', `remove it; known settings: ${Object.keys(FIXES).join(', ')}`);
    }
    if (field === '(the configuration)') {
      throw configError(where, field, 'is not a JSON object', 'write an object such as {"inAppPrefixes": ["com.acme."]}');
    }
    throw configError(where, field, `is invalid (got ${JSON.stringify(first.value) ?? 'undefined'})`, FIXES[top] ?? 'see docs/fingerprinting.md');
  }
  const config: FingerprintConfig = { ...DEFAULT_FINGERPRINT_CONFIG, ...result.data };
  if (new Set(config.keyFields).size !== config.keyFields.length) {
    throw configError(where, 'keyFields', 'lists a field twice', FIXES.keyFields);
  }
  const names = new Set<string>();
  config.extraMasks.forEach((mask, i) => {
    const field = `extraMasks[${i}]`;
    if (names.has(mask.name)) throw configError(where, `${field}.name`, `repeats "${mask.name}"`, 'give every mask its own name');
    names.add(mask.name);
    try {
      new RegExp(mask.pattern, 'g');
    } catch (error) {
      throw configError(where, `${field}.pattern`, `is not a valid regular expression (${(error as Error).message})`, 'fix the pattern (JavaScript syntax)');
    }
    if (!safeRegex(mask.pattern)) {
      throw configError(where, `${field}.pattern`, 'may backtrack catastrophically (nested quantifiers)', 'rewrite it without a quantifier inside a quantified group, e.g. "ID-[0-9]+" instead of "(ID-[0-9]+)+"');
    }
    if (new RegExp(mask.pattern).test('')) {
      throw configError(where, `${field}.pattern`, 'matches the empty string', 'make the pattern match at least one character');
    }
  });
  return Object.freeze({
    ...config,
    keyFields: Object.freeze([...config.keyFields]) as KeyField[],
    inAppPrefixes: Object.freeze([...config.inAppPrefixes]) as string[],
    ignoreFramePrefixes: Object.freeze([...config.ignoreFramePrefixes]) as string[],
    extraMasks: Object.freeze(config.extraMasks.map((m) => Object.freeze({ ...m }))) as ExtraMask[],
  });
}
