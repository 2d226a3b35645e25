/**
 * Redaction: runs on every text that leaves the process for a third party
 * (Slack, the embedding and chat APIs). Built-in rules cover what logs leak in
 * practice; operators add their own patterns. Rules are compiled once; a rule
 * can veto a match (card numbers must pass the Luhn check) so long digit runs
 * such as epoch-millisecond timestamps survive.
 */
import safeRegex from 'safe-regex2';

export interface RedactionPattern {
  /** Shown in the placeholder, e.g. `[REDACTED:email]`. Letters, digits, `_` and `-`. */
  readonly name: string;
  /** JavaScript regular expression source, matched globally. */
  readonly pattern: string;
  /** Optional flags besides `g` (e.g. `i`). */
  readonly flags?: string;
}

interface CompiledRule {
  readonly name: string;
  readonly regex: RegExp;
  /** Replaces one match; returning the match unchanged keeps it. */
  readonly replace: (match: string, ...groups: string[]) => string;
}

const placeholder = (name: string): string => `[REDACTED:${name}]`;

function passesLuhn(candidate: string): boolean {
  let sum = 0;
  let digits = 0;
  for (let i = candidate.length - 1; i >= 0; i--) {
    const code = candidate.charCodeAt(i) - 48;
    if (code < 0 || code > 9) continue;
    let value = code;
    if (digits % 2 === 1) {
      value *= 2;
      if (value > 9) value -= 9;
    }
    sum += value;
    digits++;
  }
  return digits >= 13 && digits <= 19 && sum % 10 === 0;
}

const SECRET_KEYS = 'password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|authorization|auth|credentials?|session[_-]?id';

/** Order matters: specific token shapes first, so `token=xoxb-...` is named by its shape only once. */
const BUILT_IN: readonly CompiledRule[] = [
  { name: 'private_key', regex: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, replace: () => placeholder('private_key') },
  { name: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, replace: () => placeholder('jwt') },
  { name: 'slack_webhook', regex: /https:\/\/hooks\.slack\.com\/[A-Za-z0-9/_-]+/g, replace: () => placeholder('slack_webhook') },
  { name: 'slack_token', regex: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: () => placeholder('slack_token') },
  { name: 'openai_key', regex: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g, replace: () => placeholder('openai_key') },
  { name: 'github_token', regex: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g, replace: () => placeholder('github_token') },
  { name: 'aws_access_key', regex: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: () => placeholder('aws_access_key') },
  { name: 'bearer', regex: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{8,}=*/gi, replace: (_m, scheme) => `${scheme} ${placeholder('credentials')}` },
  // user:password@host in any URL scheme (jdbc:postgresql://, redis://, https://): keep the scheme and host.
  { name: 'url_credentials', regex: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]+:[^\s/@]+@/gi, replace: (_m, scheme) => `${scheme}${placeholder('credentials')}@` },
  {
    name: 'secret_value',
    regex: new RegExp(`\\b(${SECRET_KEYS})(["']?\\s*[=:]\\s*["']?)(?!\\[REDACTED|(?:Bearer|Basic)\\s)[^\\s"',;&)}\\]]+`, 'gi'),
    replace: (_m, key, separator) => `${key}${separator}${placeholder('secret')}`,
  },
  { name: 'email', regex: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g, replace: () => placeholder('email') },
  // Issuer prefixes 2-6 only, so 13-digit epoch milliseconds (1...) are never candidates.
  { name: 'card_number', regex: /\b[2-6]\d{3}(?:[ -]?\d{3,4}){2,4}\b/g, replace: (match) => (passesLuhn(match) ? placeholder('card_number') : match) },
];

export const BUILT_IN_REDACTIONS: readonly string[] = BUILT_IN.map((rule) => rule.name);

export class RedactionConfigError extends Error {
  constructor(readonly field: string, problem: string, fix: string) {
    super(`${field} ${problem}: ${fix}`);
    this.name = 'RedactionConfigError';
  }
}

function compileExtra(patterns: readonly RedactionPattern[], field: string): CompiledRule[] {
  return patterns.map((p, i) => {
    const where = `${field}[${i}]`;
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(p.name)) throw new RedactionConfigError(`${where}.name`, `is "${p.name}"`, 'use 1-40 letters, digits, "_" or "-"');
    const flags = p.flags ?? '';
    if (!/^[imsu]*$/.test(flags)) throw new RedactionConfigError(`${where}.flags`, `is "${flags}"`, 'use only i, m, s or u (g is implied)');
    let regex: RegExp;
    try {
      regex = new RegExp(p.pattern, `g${flags}`);
    } catch (error) {
      throw new RedactionConfigError(`${where}.pattern`, `is not a valid regular expression (${(error as Error).message})`, 'fix the pattern (JavaScript syntax)');
    }
    if (!safeRegex(p.pattern)) {
      throw new RedactionConfigError(`${where}.pattern`, 'may backtrack catastrophically (nested quantifiers)', 'rewrite it without a quantifier inside a quantified group');
    }
    if (new RegExp(p.pattern, flags).test('')) throw new RedactionConfigError(`${where}.pattern`, 'matches the empty string', 'make it match at least one character');
    return { name: p.name, regex, replace: () => placeholder(p.name) };
  });
}

export interface RedactorOptions {
  /** Operator patterns, applied after the built-in ones. */
  readonly extraPatterns?: readonly RedactionPattern[];
  /** Built-in rules to turn off by name (see BUILT_IN_REDACTIONS), e.g. when emails are not personal data in a system. */
  readonly disable?: readonly string[];
  /** The setting name that error messages cite for extraPatterns. */
  readonly configField?: string;
}

export class Redactor {
  readonly #rules: readonly CompiledRule[];

  constructor(options: RedactorOptions = {}) {
    const disabled = new Set(options.disable ?? []);
    for (const name of disabled) {
      if (!BUILT_IN_REDACTIONS.includes(name)) {
        throw new RedactionConfigError('redaction.disable', `names an unknown rule "${name}"`, `use one of ${BUILT_IN_REDACTIONS.join(', ')}`);
      }
    }
    this.#rules = [...BUILT_IN.filter((rule) => !disabled.has(rule.name)), ...compileExtra(options.extraPatterns ?? [], options.configField ?? 'redaction.patterns')];
  }

  redact(text: string): string {
    let out = text;
    for (const rule of this.#rules) {
      rule.regex.lastIndex = 0;
      out = out.replace(rule.regex, rule.replace);
    }
    return out;
  }
}
