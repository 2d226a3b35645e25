/**
 * Message templating: the variable parts of a log message are masked so that
 * every occurrence of one log statement gives one template, whatever its ids,
 * addresses, times or sizes. Like the template column of the LogHub corpus,
 * every masked value prints as `<*>`: the kind of value (an IP here, a host
 * name there) must not split a template. Consecutive masked tokens collapse
 * into one `<*>`, so a value of varying length (a date, a person's name) still
 * gives one template.
 *
 * No learned state and no backtracking regular expressions: one linear scan
 * cuts the message into tokens (into preallocated typed arrays), one pass
 * classifies each token by its characters, one pass applies rules that look at
 * neighbours (`key=value`, `user NAME`, `from STATE to STATE`, dates, units),
 * and one pass writes the template, copying unmasked runs as whole slices.
 */

/** What a masked value was taken for; `--explain` shows it. */
export type VariableKind =
  | 'number' | 'hex' | 'uuid' | 'ip' | 'email' | 'url' | 'path' | 'timestamp' | 'date' | 'duration' | 'size'
  | 'quoted' | 'value' | 'host' | 'file' | 'id' | 'name' | 'state' | 'custom';

export interface MaskedValue {
  readonly kind: VariableKind;
  readonly text: string;
}

export const VARIABLE = '<*>';
const QUOTED_VARIABLE = `"${VARIABLE}"`;
const SINGLE_QUOTED_VARIABLE = `'${VARIABLE}'`;

// Variable kind codes (0 keeps the token); ABSORBED: emitted as part of the previous variable.
const KEEP = 0;
const KIND_NAMES: readonly VariableKind[] = [
  'number', 'hex', 'uuid', 'ip', 'email', 'url', 'path', 'timestamp', 'date', 'duration', 'size',
  'quoted', 'value', 'host', 'file', 'id', 'name', 'state', 'custom',
];
const code = (kind: VariableKind): number => KIND_NAMES.indexOf(kind) + 1;
const NUMBER = code('number');
const HEX = code('hex');
const UUID = code('uuid');
const IP = code('ip');
const EMAIL = code('email');
const URL_KIND = code('url');
const PATH = code('path');
const TIMESTAMP = code('timestamp');
const DATE = code('date');
const DURATION = code('duration');
const SIZE = code('size');
const QUOTED = code('quoted');
const VALUE = code('value');
const HOST = code('host');
const FILE = code('file');
const ID = code('id');
const NAME = code('name');
const STATE = code('state');
const CUSTOM = code('custom');
const ABSORBED = -1;
/** An HTTP request path after its method: kept, with its variable segments masked one by one. */
const ROUTE = KIND_NAMES.length + 1;

// Item types.
const TOKEN = 1;
const PUNCT = 2;
const QUOTE = 3;

// Character classes.
const WS = 0;
const WORD = 1;
const SEP = 2;

/** Replaces what an extra mask matched; a token containing it is a `custom` variable. */
export const CUSTOM_MASK_CHAR = '\u0001';

const ASCII_CLASS = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    if (c <= 0x20 || c === 0x7f) table[c] = WS;
    else if (',;()[]{}<>=|"\''.includes(String.fromCharCode(c))) table[c] = SEP;
    else table[c] = WORD;
  }
  table[1] = WORD;
  return table;
})();

// What a token is made of, OR-ed over its characters while it is cut (a second pass would read it again).
const HAS_DIGIT = 1;
const HAS_LETTER = 2;
const HAS_HEX_LETTER = 4;
const HAS_OTHER = 8;
const HAS_DOT = 16;
/** `:`, `@` or the extra-mask character: URLs, e-mail addresses, custom values. */
const HAS_MARK = 32;

const ASCII_SHAPE = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    if (c >= 48 && c <= 57) table[c] = HAS_DIGIT;
    else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) table[c] = HAS_LETTER | HAS_HEX_LETTER;
    else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) table[c] = HAS_LETTER;
    else if (c === 0x2e) table[c] = HAS_DOT;
    else if (c === 0x3a || c === 0x40 || c === 1) table[c] = HAS_MARK;
    else table[c] = HAS_OTHER;
  }
  return table;
})();

/** Character class (low 2 bits) and shape (the bits above) of ASCII characters, one lookup per character. */
const ASCII_INFO = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = ASCII_CLASS[c]! | (ASCII_SHAPE[c]! << 2);
  return table;
})();

/** Class and shape of any character, as in ASCII_INFO. */
function charInfo(c: number): number {
  if (c < 128) return ASCII_INFO[c]!;
  return charClass(c) | ((c > 0xbf ? HAS_LETTER : HAS_OTHER) << 2);
}

function charClass(c: number): number {
  if (c < 128) return ASCII_CLASS[c]!;
  // Unicode spaces (NBSP, en/em spaces, line separators, ideographic space, BOM).
  if (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200b) || c === 0x2028 || c === 0x2029 || c === 0x202f
    || c === 0x205f || c === 0x3000 || c === 0xfeff) return WS;
  return WORD;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isLetter = (c: number): boolean => isUpper(c) || isLower(c) || c > 0xbf;
const isAlnum = (c: number): boolean => isLetter(c) || isDigit(c);

/** Longest quoted value that is masked as one (longer: the quotes are plain punctuation). */
const MAX_QUOTED_CHARS = 512;
/** Longest parenthesised annotation folded into the variable before it (in items). */
const MAX_ANNOTATION_ITEMS = 8;

/**
 * A set of words looked up in place, s[start, end), without slicing or
 * lower-casing a copy: candidates by length and first and last character,
 * confirmed character by character. `ignoreCase` folds ASCII letters only.
 */
class WordSet {
  private readonly candidates = new Map<number, string[]>();

  constructor(words: Iterable<string>, private readonly ignoreCase: boolean) {
    for (const word of words) {
      const folded = ignoreCase ? word.toLowerCase() : word;
      const key = this.keyOf(folded, 0, folded.length);
      const list = this.candidates.get(key);
      if (list) list.push(folded);
      else this.candidates.set(key, [folded]);
    }
  }

  has(s: string, start: number, end: number): boolean {
    const list = this.candidates.get(this.keyOf(s, start, end));
    if (list === undefined) return false;
    for (const word of list) {
      let i = 0;
      while (i < word.length && this.fold(s.charCodeAt(start + i)) === word.charCodeAt(i)) i++;
      if (i === word.length) return true;
    }
    return false;
  }

  private keyOf(s: string, start: number, end: number): number {
    const length = end - start;
    if (length <= 0 || length > 0xff) return -1;
    return (length << 16) | ((this.fold(s.charCodeAt(start)) & 0xff) << 8) | (this.fold(s.charCodeAt(end - 1)) & 0xff);
  }

  private fold(c: number): number {
    return this.ignoreCase && c >= 65 && c <= 90 ? c | 0x20 : c;
  }
}

const MONTHS_AND_DAYS = new WordSet([
  'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'october', 'november', 'december',
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
  'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday',
], true);

/** Units after a number: `52 ms`, `7.5 KB`, `10 days` mask as one value. */
const UNITS = new WordSet([
  'B', 'KB', 'MB', 'GB', 'TB', 'PB', 'KiB', 'MiB', 'GiB', 'TiB', 'kB', 'K', 'M', 'G', 'bytes', 'byte',
  'ns', 'us', 'µs', 'ms', 's', 'sec', 'secs', 'second', 'seconds', 'min', 'mins', 'minute', 'minutes',
  'h', 'hr', 'hrs', 'hour', 'hours', 'd', 'day', 'days', 'millis', 'milliseconds', 'micros', 'nanos',
], false);
const DURATION_UNITS = new WordSet(['ns', 'us', 'µs', 'ms', 's', 'sec', 'secs', 'second', 'seconds', 'min', 'mins', 'minute',
  'minutes', 'h', 'hr', 'hrs', 'hour', 'hours', 'd', 'day', 'days', 'millis', 'milliseconds', 'micros', 'nanos'], false);

/** Suffixes of a number-with-unit token (`30000ms`, `1.5GB`, `90%`). */
const ATTACHED_UNIT = /^[+-]?\d+(?:[.,]\d+)?(?:ns|us|µs|ms|s|m|h|d|b|kb|mb|gb|tb|kib|mib|gib|tib|k|%)$/i;

/** Last labels that make a dotted word a host name (`mail.example.com`), not a class or module. */
const HOST_SUFFIXES = new WordSet([
  'com', 'net', 'org', 'edu', 'gov', 'mil', 'int', 'io', 'co', 'uk', 'de', 'fr', 'nl', 'jp', 'cn', 'ru', 'br', 'au',
  'ca', 'us', 'eu', 'hk', 'tw', 'kr', 'ch', 'se', 'es', 'pl', 'cz', 'mx', 'ar', 'cl', 'za', 'nz', 'sg', 'vn', 'th',
  'ph', 'tr', 'ua', 'gr', 'pt', 'dk', 'fi', 'ie', 'hu', 'ro', 'bg', 'il', 'ir', 'pk', 'sa', 'ae', 'eg', 'ng', 'ke',
  'biz', 'xyz', 'local', 'internal', 'lan', 'localdomain',
  'intra', 'corp', 'home', 'arpa', 'localhost',
], true);

/** Last labels that make a dotted word a file name (`chrome.exe`, `store.py`). */
const FILE_EXTENSIONS = new WordSet([
  'exe', 'dll', 'so', 'dylib', 'jar', 'war', 'ear', 'class', 'java', 'kt', 'scala', 'py', 'pyc', 'js', 'mjs', 'cjs',
  'ts', 'rb', 'go', 'rs', 'c', 'cc', 'cpp', 'h', 'hpp', 'cs', 'php', 'asp', 'aspx', 'jsp', 'html', 'htm', 'css',
  'xml', 'json', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf', 'properties', 'log', 'txt', 'csv', 'tsv', 'md', 'sh',
  'bash', 'bat', 'cmd', 'ps1', 'zip', 'gz', 'tgz', 'tar', 'bz2', 'xz', '7z', 'rar', 'png', 'jpg', 'jpeg', 'gif',
  'svg', 'ico', 'pdf', 'doc', 'docx', 'xls', 'xlsx', 'sql', 'db', 'sqlite', 'pid', 'sock', 'lock', 'tmp', 'bak',
  'iso', 'img', 'msi', 'sys', 'dat', 'bin', 'pem', 'crt', 'cer', 'der', 'p12', 'jks', 'gpg', 'plist', 'dmg', 'pkg',
  'deb', 'rpm', 'apk', 'ipa', 'mp3', 'mp4', 'wav', 'avi', 'mov',
], false);

/** Words with digits that are vocabulary, not values (protocols, encodings, architectures). */
const DIGIT_WORDS = new WordSet([
  'ipv4', 'ipv6', 'ssh1', 'ssh2', 'http2', 'http3', 'utf8', 'utf16', 'utf32', 'base64', 'base32', 'md5', 'sha1',
  'sha224', 'sha256', 'sha384', 'sha512', 'x86', 'x64', 'x86_64', 'amd64', 'arm64', 'aarch64', 'i386', 'i686',
  'win32', 'win64', 'log4j', 'log4j2', 'slf4j', 'ext2', 'ext3', 'ext4', 'oauth2', 'h2', 'l2', 'l3', 'l4', 'l7',
  's3', 'ec2', 'tlsv1', 'sslv3', 'utf-8', 'utf-16', 'iso-8859-1', 'e2e', 'p2p', 'b2b', '2fa', 'mp3', 'mp4', 'k8s', 'i18n',
], true);

/** Words that introduce a name: the next token is a value (`user cyrus`, `Invalid user admin`). */
const NAME_INTRODUCERS = new WordSet(['user', 'username', 'login', 'account'], true);
/** Function words that are never such a name (`user from`, `user is`). */
const FUNCTION_WORDS = new WordSet([
  'from', 'for', 'to', 'by', 'with', 'in', 'on', 'at', 'of', 'the', 'a', 'an', 'is', 'was', 'were', 'not', 'no',
  'has', 'had', 'have', 'and', 'or', 'as', 'id', 'name', 'if', 'that', 'this',
], true);

/** Request methods: the absolute path after one is a route (`GET /api/v1/users/<*>`), not one opaque value. */
const HTTP_METHODS = new WordSet(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'], false);
/** Longer route segments are values whatever their characters. */
const MAX_ROUTE_SEGMENT_CHARS = 64;

export interface TemplateOptions {
  readonly extraMasks: readonly RegExp[];
  readonly maxMessageChars: number;
}

/** Turns a message into its template; `explain`, when given, receives what was masked. */
export type Templater = (message: string, explain?: MaskedValue[]) => string;

export function compileTemplater(options: TemplateOptions): Templater {
  const capacity = options.maxMessageChars + 1;
  const starts = new Int32Array(capacity);
  const ends = new Int32Array(capacity);
  const types = new Uint8Array(capacity);
  const spaced = new Uint8Array(capacity);
  const kinds = new Int8Array(capacity);
  const extraMasks = options.extraMasks;

  return (message, explain) => {
    let s = message.length > options.maxMessageChars ? message.slice(0, options.maxMessageChars) : message;
    for (const mask of extraMasks) {
      mask.lastIndex = 0;
      if (explain) for (const match of s.matchAll(mask)) explain.push({ kind: 'custom', text: match[0] });
      s = s.replace(mask, CUSTOM_MASK_CHAR);
    }
    const count = tokenize(s, starts, ends, types, spaced, kinds);
    applyContextRules(s, count, starts, ends, types, spaced, kinds);
    return render(s, count, starts, ends, types, spaced, kinds, explain);
  };
}

/** Appends an item; returns the new count. */
function pushItem(starts: Int32Array, ends: Int32Array, types: Uint8Array, spaced: Uint8Array, count: number, start: number, end: number, type: number, space: number): number {
  starts[count] = start;
  ends[count] = end;
  types[count] = type;
  spaced[count] = space;
  return count + 1;
}

/** The kind of the token s[start, end) on its own, from what it is made of when that suffices. */
function classifyShaped(s: string, start: number, end: number, shape: number): number {
  // Plain words and plain numbers, most tokens, without a second look at their characters.
  if ((shape & ~HAS_HEX_LETTER) === HAS_LETTER) return end - start >= MIN_GENERATED_RUN - 4 && isGeneratedId(s, start, end) ? ID : KEEP;
  if (shape === HAS_DIGIT) return s.charCodeAt(start + 4) === 0x2d ? DATE : NUMBER;
  if (shape === (HAS_DIGIT | HAS_DOT)) {
    // 10.0.0.1, 1.5, 2.0.1: what classifyWithDigits makes of digits and dots.
    let dots = 0;
    for (let i = start; i < end; i++) if (s.charCodeAt(i) === 0x2e) dots++;
    return dots === 3 ? IP : s.charCodeAt(start + 4) === 0x2d ? DATE : NUMBER;
  }
  // An absolute path (no `://` URL, e-mail address or custom value in it).
  if ((shape & HAS_MARK) === 0 && s.charCodeAt(start) === 0x2f && end - start >= 2 && (s.charCodeAt(start + 1) !== 0x2f || end - start > 2)) return PATH;
  return classifyToken(s, start, end);
}

/** Cuts s into items and classifies each on its own (kinds); returns the number of items. */
function tokenize(s: string, starts: Int32Array, ends: Int32Array, types: Uint8Array, spaced: Uint8Array, kinds: Int8Array): number {
  const n = s.length;
  let count = 0;
  let space = 0; // whitespace before the next item
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    const cls = charClass(c);
    if (cls === WS) {
      space = 1;
      i++;
      continue;
    }
    if (c === 0x22 /* " */ || (c === 0x27 /* ' */ && (i === 0 || !isAlnum(s.charCodeAt(i - 1))))) {
      const close = findClosingQuote(s, i, c);
      const end = close > 0 ? close + 1 : i + 1;
      kinds[count] = close > 0 ? classifyQuoted(s, i, end) : KEEP;
      count = pushItem(starts, ends, types, spaced, count, i, end, close > 0 ? QUOTE : PUNCT, space);
      space = 0;
      i = end;
      continue;
    }
    if (cls === SEP) {
      kinds[count] = KEEP;
      count = pushItem(starts, ends, types, spaced, count, i, i + 1, PUNCT, space);
      space = 0;
      i++;
      continue;
    }
    let j = i + 1;
    let shape = charInfo(c) >> 2;
    // URLs and absolute paths run to the next space or quote: query strings have = and &.
    let url = c === 0x2f && i + 1 < n && s.charCodeAt(i + 1) !== 0x2f && charClass(s.charCodeAt(i + 1)) === WORD;
    while (j < n) {
      const d = s.charCodeAt(j);
      const info = d < 128 ? ASCII_INFO[d]! : charInfo(d);
      if ((info & 3) === WORD) {
        if (d === 0x3a /* : */ && s.charCodeAt(j + 1) === 0x2f && s.charCodeAt(j + 2) === 0x2f) url = true;
        shape |= info >> 2;
        j++;
      } else if (d === 0x27 && isAlnum(s.charCodeAt(j - 1)) && isLetter(s.charCodeAt(j + 1))) {
        shape |= HAS_OTHER;
        j++; // an apostrophe inside a word: isn't, O'Brien
      } else if (url && d !== 0x22 && d !== 0x27 && d !== 0x3c && d !== 0x3e && (info & 3) !== WS) {
        shape |= HAS_OTHER;
        j++;
      } else {
        break;
      }
    }
    // Sentence punctuation at the end of a word is not part of it: `failed.`, `Ignoring.`, `key:`.
    let end = j;
    while (end > i + 1 && isTrailingPunctuation(s.charCodeAt(end - 1), url)) end--;
    // The shape covers trailing punctuation too: it can only send a token to the full classification.
    const colon = (shape & HAS_MARK) === 0 ? -1 : identifierColon(s, i, end);
    if (colon > 0) {
      kinds[count] = classifyToken(s, i, colon);
      count = pushItem(starts, ends, types, spaced, count, i, colon, TOKEN, space);
      kinds[count] = KEEP;
      count = pushItem(starts, ends, types, spaced, count, colon, colon + 1, PUNCT, 0);
      kinds[count] = classifyToken(s, colon + 1, end);
      count = pushItem(starts, ends, types, spaced, count, colon + 1, end, TOKEN, 0);
    } else {
      kinds[count] = classifyShaped(s, i, end, shape);
      count = pushItem(starts, ends, types, spaced, count, i, end, TOKEN, space);
    }
    for (let k = end; k < j; k++) {
      kinds[count] = KEEP;
      count = pushItem(starts, ends, types, spaced, count, k, k + 1, PUNCT, 0);
    }
    space = 0;
    i = j;
  }
  return count;
}

function isTrailingPunctuation(c: number, url: boolean): boolean {
  return c === 0x2e || c === 0x3a || c === 0x21 || c === 0x3f || c === 0x2c
    || (url && (c === 0x29 || c === 0x5d || c === 0x7d || c === 0x3b));
}

/** `CurrentState:112` splits after an identifier of two or more letters (not `C:\`, `12:30`, `http://`). */
function identifierColon(s: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (isLetter(c) || c === 0x5f) i++;
    else break;
  }
  if (i - start < 2 || i >= end - 1 || s.charCodeAt(i) !== 0x3a) return -1;
  const next = s.charCodeAt(i + 1);
  return next === 0x2f || next === 0x5c || next === 0x3a ? -1 : i;
}

function findClosingQuote(s: string, open: number, quote: number): number {
  const limit = Math.min(s.length, open + MAX_QUOTED_CHARS);
  for (let i = open + 1; i < limit; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a) return -1;
    if (c === 0x5c /* \ */ && quote === 0x22) {
      i++;
      continue;
    }
    if (c === quote && (quote === 0x22 || i + 1 >= s.length || !isAlnum(s.charCodeAt(i + 1)))) return i;
  }
  return -1;
}

function classifyQuoted(s: string, start: number, end: number): number {
  if (end - start <= 2) return KEEP;
  // A quoted word followed by a colon is a key (JSON, Python dict reprs), not a value.
  return s.charCodeAt(end) === 0x3a ? KEEP : QUOTED;
}

function classifyToken(s: string, start: number, end: number): number {
  let digits = 0;
  let letters = 0;
  let hexLetters = 0;
  let dots = 0;
  let colons = 0;
  let dashes = 0;
  let underscores = 0;
  let slashes = 0;
  let at = -1;
  let custom = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (isLetter(c)) {
      letters++;
      if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hexLetters++;
    } else if (c === 0x2e) dots++;
    else if (c === 0x3a) colons++;
    else if (c === 0x2d) dashes++;
    else if (c === 0x5f) underscores++;
    else if (c === 0x2f || c === 0x5c) slashes++;
    else if (c === 0x40) at = i;
    else if (c === 1) custom = true;
  }
  if (custom) return CUSTOM;
  const first = s.charCodeAt(start);
  const length = end - start;
  if (colons > 0 && slashes >= 2 && hasUrlScheme(s, start, end)) return URL_KIND;
  if (at > start && at < end - 1) return EMAIL;
  if (isPathStart(s, start, end, first)) return PATH;
  if (digits > 0 && dots >= 2 && isDottedName(s, start, end)) {
    // Java packages never contain '-': `mapreduce.v2.app` is a name, `customer-187-1.example.mx` a host.
    return dashes > 0 ? HOST : classifyDotted(s, start, end);
  }
  if (digits > 0) return classifyWithDigits(s, start, end, { digits, letters, hexLetters, dots, colons, dashes, length });
  if (slashes > 0 && dots > 0) return PATH; // com.android.settings/.Settings, application/vnd.ms-excel
  if (dots > 0 && letters > 0) {
    const dotted = classifyDotted(s, start, end);
    if (dotted !== KEEP) return dotted;
  }
  if (length >= 8 && (dashes > 0 || underscores > 0) && hasRandomSegment(s, start, end)) return ID;
  return length >= MIN_GENERATED_RUN - 4 && letters >= MIN_GENERATED_RUN - 4 && isGeneratedId(s, start, end) ? ID : KEEP;
}

/** Letters in a row from which a mixed-case run can be a generated id rather than a name. */
const MIN_GENERATED_RUN = 16;

/**
 * Generated ids without digits, which the digit rule misses (one random
 * 24-character id in ~70 has no digit):
 * - a short lowercase prefix, `_` or `-`, and 12+ letters in mixed case to
 *   the end of the token, as payment, customer and request ids are printed
 *   (`txn_lENuqGsoQrBeptNoKyIqFdEi`, `cus_`, `pi_`): snake- and kebab-case
 *   names separate their words, they do not switch case within one;
 * - a run of 16+ letters in mixed case whose capitals are not where the
 *   words of a camel-case name start: counting lowercase letters alone
 *   between capitals (`QrB`), capitals in a row followed by lowercase
 *   (`EBi`) and lowercase runs without a vowel (`xk`), a random run of 24
 *   letters scores about 7 and camel-case names (`ExportTableToPointInTime`,
 *   `NIOServerCnxnFactory`, `RetryUpToMaximumCountWithFixedSleep`) at most 2;
 *   4 or more is an id (no false positive among ~17,000 identifiers of 12+
 *   letters from TypeScript and AWS SDK declarations).
 */
function isGeneratedId(s: string, start: number, end: number): boolean {
  let runStart = start;
  let prefixed = false;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0;
    if (i < end && c < 0x80 && isLetter(c)) continue;
    const run = i - runStart;
    if (run >= MIN_GENERATED_RUN - 4 && isMixedCase(s, runStart, i)) {
      if (prefixed && i === end) return true;
      if (run >= MIN_GENERATED_RUN && capitalsOutOfPlace(s, runStart, i) >= 4) return true;
    }
    // A prefix: 1-8 lowercase letters at the start of the token, then `_` or `-`.
    prefixed = runStart === start && run > 0 && run <= 8 && (c === 0x5f || c === 0x2d) && isLowerRun(s, runStart, i);
    runStart = i + 1;
  }
  return false;
}

function isLowerRun(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isLower(s.charCodeAt(i))) return false;
  return true;
}

function isMixedCase(s: string, start: number, end: number): boolean {
  let upper = 0;
  let lower = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isUpper(c)) upper++;
    else if (isLower(c)) lower++;
  }
  return upper >= 2 && lower >= 2;
}

/** The randomness score of a run of letters described at isGeneratedId. */
function capitalsOutOfPlace(s: string, start: number, end: number): number {
  let score = 0;
  let i = start;
  while (i < end) {
    const upper = isUpper(s.charCodeAt(i));
    let j = i + 1;
    while (j < end && isUpper(s.charCodeAt(j)) === upper) j++;
    if (upper) {
      if (j - i >= 2 && j < end) score++;
    } else if (j - i === 1) {
      if (i > start && j < end) score++;
    } else {
      let vowel = false;
      for (let k = i; k < j && !vowel; k++) vowel = isVowel(s.charCodeAt(k));
      if (!vowel) score++;
    }
    i = j;
  }
  return score;
}

const isVowel = (c: number): boolean => {
  const lower = c | 0x20;
  return lower === 0x61 || lower === 0x65 || lower === 0x69 || lower === 0x6f || lower === 0x75 || lower === 0x79;
};

/**
 * Generated ids without digits after a prefix (`txn_lENuqGsoQrBeptNoKyIqFdEi`,
 * `SKU-MKSKTJUI`): a part of 8+ letters with 5 consonants in a row, or with
 * two lone lowercase letters between capitals (`QrB`, `NoK`); words and
 * camel-case names almost never have either. Only for tokens with `_` or `-`,
 * so that names joined from acronyms (`HTTPSConnection`) stay.
 */
function hasRandomSegment(s: string, start: number, end: number): boolean {
  let length = 0;
  let consonants = 0;
  let maxConsonants = 0;
  let loneLowercase = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0;
    if (i < end && c < 0x80 && isLetter(c)) {
      length++;
      consonants = isVowel(c) ? 0 : consonants + 1;
      if (consonants > maxConsonants) maxConsonants = consonants;
      if (isLower(c) && i > start && isUpper(s.charCodeAt(i - 1)) && i + 1 < end && isUpper(s.charCodeAt(i + 1))) loneLowercase++;
      continue;
    }
    if (length >= 8 && (maxConsonants >= 5 || loneLowercase >= 2)) return true;
    length = 0;
    consonants = 0;
    maxConsonants = 0;
    loneLowercase = 0;
  }
  return false;
}

/** `org.apache.hadoop.mapreduce.v2.app.MRAppMaster`: every dotted label starts with a letter (not `v6.1.7601`, `10.0.0.1`). */
function isDottedName(s: string, start: number, end: number): boolean {
  let labelStart = true;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (labelStart) return false;
      labelStart = true;
    } else if (labelStart) {
      if (!isLetter(c)) return false;
      labelStart = false;
    }
  }
  return !labelStart;
}

function hasUrlScheme(s: string, start: number, end: number): boolean {
  for (let i = start + 1; i + 2 < end; i++) {
    if (s.charCodeAt(i) === 0x3a && s.charCodeAt(i + 1) === 0x2f && s.charCodeAt(i + 2) === 0x2f) return true;
  }
  return false;
}

function isPathStart(s: string, start: number, end: number, first: number): boolean {
  if (end - start < 2) return false;
  const second = s.charCodeAt(start + 1);
  if (first === 0x2f /* / */) return second !== 0x2f || end - start > 2;
  if (first === 0x5c /* \ */) return second === 0x5c || isAlnum(second);
  if (first === 0x7e /* ~ */) return second === 0x2f;
  if (first === 0x2e /* . */) return second === 0x2f || (second === 0x2e && s.charCodeAt(start + 2) === 0x2f);
  // C:\Windows, D:/data
  return isLetter(first) && second === 0x3a && end - start > 2 && (s.charCodeAt(start + 2) === 0x5c || s.charCodeAt(start + 2) === 0x2f);
}

interface DigitShape {
  readonly digits: number;
  readonly letters: number;
  readonly hexLetters: number;
  readonly dots: number;
  readonly colons: number;
  readonly dashes: number;
  readonly length: number;
}

function classifyWithDigits(s: string, start: number, end: number, shape: DigitShape): number {
  const { letters, hexLetters, dots, colons, dashes, length } = shape;
  if (letters > 0 && length <= 12 && DIGIT_WORDS.has(s, start, end)) return KEEP;
  if (letters === 0) {
    if (colons >= 2 || (colons === 1 && dots === 0 && dashes === 0 && length <= 8)) return TIMESTAMP;
    if (dots === 3 && dashes === 0) return IP;
    if (dashes >= 2 || s.charCodeAt(start + 4) === 0x2d) return DATE;
    return NUMBER;
  }
  if (s.charCodeAt(start) === 0x30 && (s.charCodeAt(start + 1) | 0x20) === 0x78) return HEX;
  if (length === 36 && dashes === 4) return UUID;
  if (colons >= 2 && hexLetters === letters) return IP; // IPv6
  if (length <= 24 && ATTACHED_UNIT.test(s.slice(start, end))) {
    const last = s.charCodeAt(end - 1) | 0x20;
    return last === 0x62 /* b */ || last === 0x6b /* k */ || last === 0x25 ? SIZE : DURATION;
  }
  if (isDigit(s.charCodeAt(start)) && dashes >= 2 && colons >= 1) return TIMESTAMP; // 2026-01-02T10:00:00Z
  if (hexLetters === letters && length >= 8) return HEX;
  return ID;
}

function classifyDotted(s: string, start: number, end: number): number {
  const lastDot = s.lastIndexOf('.', end - 1);
  if (lastDot <= start || lastDot >= end - 1) return KEEP;
  if (FILE_EXTENSIONS.has(s, lastDot + 1, end)) return FILE;
  if (HOST_SUFFIXES.has(s, lastDot + 1, end)) {
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (!(isAlnum(c) || c === 0x2d || c === 0x2e)) return KEEP;
    }
    return HOST;
  }
  return KEEP;
}

function equalsIgnoreCase(s: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(start + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

function isPunct(s: string, starts: Int32Array, types: Uint8Array, k: number, char: number): boolean {
  return types[k] === PUNCT && s.charCodeAt(starts[k]!) === char;
}

const isNumeric = (kind: number): boolean => kind === NUMBER || kind === SIZE || kind === DURATION || kind === HEX;

function isWordAt(types: Uint8Array, count: number, k: number): boolean {
  return k >= 0 && k < count && types[k] === TOKEN;
}

function wordIs(s: string, starts: Int32Array, ends: Int32Array, types: Uint8Array, count: number, k: number, word: string): boolean {
  return isWordAt(types, count, k) && equalsIgnoreCase(s, starts[k]!, ends[k]!, word);
}

/** Masks a value and the comma-joined list it may head (`acls to: yarn,curi`). */
function maskValue(s: string, count: number, starts: Int32Array, types: Uint8Array, spaced: Uint8Array, kinds: Int8Array, k: number, kind: number): void {
  if (kinds[k] === KEEP) kinds[k] = kind;
  while (k + 2 < count && isPunct(s, starts, types, k + 1, 0x2c) && !spaced[k + 1] && !spaced[k + 2]
    && (types[k + 2] === TOKEN || types[k + 2] === QUOTE)) {
    kinds[k + 1] = ABSORBED;
    kinds[k + 2] = ABSORBED;
    k += 2;
  }
}

function applyContextRules(
  s: string, count: number, starts: Int32Array, ends: Int32Array, types: Uint8Array, spaced: Uint8Array, kinds: Int8Array,
): void {
  for (let k = 0; k < count; k++) {
    const type = types[k];
    if (type === PUNCT) {
      const c = s.charCodeAt(starts[k]!);
      // key=value, key = value: the value is variable (unless it is itself the next key: `logname= uid=0`).
      if (c === 0x3d && isWordAt(types, count, k - 1) && k + 1 < count && (types[k + 1] === TOKEN || types[k + 1] === QUOTE)
        && !(k + 2 < count && isPunct(s, starts, types, k + 2, 0x3d) && !spaced[k + 2])) {
        maskValue(s, count, starts, types, spaced, kinds, k + 1, VALUE);
      }
      // key: value, when the value is one word closing a clause (`Kind: YARN_AM_RM_TOKEN,`, `opt-in: False`).
      if (c === 0x3a && !spaced[k] && isWordAt(types, count, k - 1) && isWordAt(types, count, k + 1) && spaced[k + 1]
        && endsClause(s, starts, types, count, k + 2)) {
        maskValue(s, count, starts, types, spaced, kinds, k + 1, VALUE);
      }
      continue;
    }
    if (type !== TOKEN) continue;
    const start = starts[k]!;
    const end = ends[k]!;
    const length = end - start;
    const nextIsSpacedWord = isWordAt(types, count, k + 1) && spaced[k + 1] === 1;
    // METHOD /path: a route, whose word segments name the endpoint.
    if (kinds[k] === PATH && s.charCodeAt(start) === 0x2f && spaced[k] && isWordAt(types, count, k - 1) && kinds[k - 1] === KEEP
      && HTTP_METHODS.has(s, starts[k - 1]!, ends[k - 1]!)) {
      kinds[k] = ROUTE;
    }
    // user NAME
    if (nextIsSpacedWord && kinds[k + 1] === KEEP && length >= 4 && length <= 8 && NAME_INTRODUCERS.has(s, start, end)
      && !FUNCTION_WORDS.has(s, starts[k + 1]!, ends[k + 1]!)) {
      kinds[k + 1] = NAME;
    }
    if (length === 4 && equalsIgnoreCase(s, start, end, 'from')) {
      // from STATE to STATE (state machines)
      if (isWordAt(types, count, k + 1) && wordIs(s, starts, ends, types, count, k + 2, 'to') && isWordAt(types, count, k + 3)
        && (k + 4 >= count || types[k + 4] !== TOKEN)) {
        if (kinds[k + 1] === KEEP) kinds[k + 1] = STATE;
        if (kinds[k + 3] === KEEP) kinds[k + 3] = STATE;
      }
    } else if (length === 3 && equalsIgnoreCase(s, start, end, 'for')) {
      // for NAME from ADDRESS (who did what from where)
      if (isWordAt(types, count, k + 1) && wordIs(s, starts, ends, types, count, k + 2, 'from') && kinds[k + 1] === KEEP) kinds[k + 1] = NAME;
    }
    const kind = kinds[k]!;
    // Month and weekday names next to a date: Sat Jun 18, 18 Jun 2005.
    if (kind === KEEP && length >= 3 && length <= 9 && isUpper(s.charCodeAt(start)) && MONTHS_AND_DAYS.has(s, start, end)) {
      const next = k + 1 < count && types[k + 1] === PUNCT && s.charCodeAt(starts[k + 1]!) === 0x2c ? k + 2 : k + 1;
      if (isDateNeighbour(s, starts, ends, types, kinds, count, next) || (k > 0 && isDateNeighbour(s, starts, ends, types, kinds, count, k - 1))) {
        kinds[k] = DATE;
      }
    }
    // A unit after a number belongs to it: 52 ms, 7.5 KB, 0 bytes.
    if (nextIsSpacedWord && isNumeric(kind) && kinds[k + 1] === KEEP && UNITS.has(s, starts[k + 1]!, ends[k + 1]!)) {
      kinds[k] = DURATION_UNITS.has(s, starts[k + 1]!, ends[k + 1]!) ? DURATION : SIZE;
      kinds[k + 1] = ABSORBED;
    }
  }
  // A short parenthesised annotation of a value is part of it: `jdoe (John Doe)`, `10.0.0.1 (host.example)`.
  for (let k = 1; k < count; k++) {
    if (!isPunct(s, starts, types, k, 0x28) || !spaced[k]) continue;
    const before = kinds[k - 1]!;
    if (before === KEEP || before === ABSORBED || isNumeric(before) || before === QUOTED) continue;
    const close = annotationEnd(s, starts, ends, types, kinds, count, k);
    if (close < 0) continue;
    for (let j = k; j <= close; j++) kinds[j] = ABSORBED;
  }
}

function endsClause(s: string, starts: Int32Array, types: Uint8Array, count: number, k: number): boolean {
  if (k >= count) return true;
  if (types[k] !== PUNCT) return false;
  const c = s.charCodeAt(starts[k]!);
  return c === 0x2c || c === 0x3b || c === 0x29 || c === 0x5d || c === 0x7d;
}

function isDateNeighbour(s: string, starts: Int32Array, ends: Int32Array, types: Uint8Array, kinds: Int8Array, count: number, k: number): boolean {
  if (k < 0 || k >= count || types[k] !== TOKEN) return false;
  const kind = kinds[k];
  if (kind === NUMBER || kind === TIMESTAMP || kind === DATE) return true;
  const start = starts[k]!;
  const end = ends[k]!;
  return end - start >= 3 && end - start <= 9 && isUpper(s.charCodeAt(start)) && MONTHS_AND_DAYS.has(s, start, end);
}

/** Index of the `)` closing a short annotation at `open`, or -1 when it is not one. */
function annotationEnd(s: string, starts: Int32Array, ends: Int32Array, types: Uint8Array, kinds: Int8Array, count: number, open: number): number {
  const limit = Math.min(count, open + MAX_ANNOTATION_ITEMS + 2);
  for (let j = open + 1; j < limit; j++) {
    if (types[j] === PUNCT) {
      const c = s.charCodeAt(starts[j]!);
      if (c === 0x29) return j;
      if (c !== 0x2c && c !== 0x2e && c !== 0x2d) return -1;
      continue;
    }
    // Only values and capitalised words (names): `(no session established)` is text, not an annotation.
    if (kinds[j] === KEEP && !(types[j] === TOKEN && isUpper(s.charCodeAt(starts[j]!)) && ends[j]! - starts[j]! > 0)) return -1;
  }
  return -1;
}

function render(
  s: string, count: number, starts: Int32Array, ends: Int32Array, types: Uint8Array, spaced: Uint8Array, kinds: Int8Array,
  explain: MaskedValue[] | undefined,
): string {
  let out = '';
  // A verbatim run of the message not written yet: whole runs are copied as one slice.
  let runStart = -1;
  let runEnd = -1;
  let lastWasVariable = false;
  let emitted = false;
  /** Start of the value `explain` last received, so that absorbed items extend its text. */
  let explainedStart = -1;
  for (let k = 0; k < count; k++) {
    const kind = kinds[k]!;
    const start = starts[k]!;
    const end = ends[k]!;
    if (kind === ABSORBED) {
      const last = explain?.[explain.length - 1];
      if (explain && last && explainedStart >= 0) explain[explain.length - 1] = { kind: last.kind, text: s.slice(explainedStart, end) };
      continue;
    }
    const space = spaced[k] === 1 && emitted;
    if (kind === KEEP) {
      explainedStart = -1;
      lastWasVariable = false;
      emitted = true;
      // Extend the verbatim run when the source between it and this item is exactly what we would write.
      if (runStart >= 0 && (space ? start === runEnd + 1 && s.charCodeAt(runEnd) === 0x20 : start === runEnd)) {
        runEnd = end;
        continue;
      }
      if (runStart >= 0) out += s.slice(runStart, runEnd);
      if (space) out += ' ';
      runStart = start;
      runEnd = end;
      continue;
    }
    let piece: string;
    if (kind === ROUTE) {
      piece = renderRoute(s, start, end, explain);
      explainedStart = -1;
      lastWasVariable = false;
    } else {
      if (explain) {
        explain.push({ kind: KIND_NAMES[kind - 1]!, text: s.slice(start, end) });
        explainedStart = start;
      }
      if (types[k] === QUOTE) {
        piece = s[start] === '"' ? QUOTED_VARIABLE : SINGLE_QUOTED_VARIABLE;
        lastWasVariable = false;
      } else if (!lastWasVariable) {
        piece = VARIABLE;
        lastWasVariable = true;
      } else {
        emitted = true;
        continue; // consecutive variables are one
      }
    }
    if (runStart >= 0) {
      out += s.slice(runStart, runEnd);
      runStart = -1;
    }
    if (space) out += ' ';
    out += piece;
    emitted = true;
  }
  if (runStart >= 0) out += s.slice(runStart, runEnd);
  return out;
}

/**
 * `/api/v1/users/123?expand=true` -> `/api/v1/users/<*>?expand=<*>`: segments
 * that are words (`users`, `getUser`, `index.html`) or versions (`v1`) stay,
 * any other segment is a value (numbers, ids, codes, encoded text); query
 * parameter names stay and their values are masked.
 */
function renderRoute(s: string, start: number, end: number, explain: MaskedValue[] | undefined): string {
  let out = '';
  let kept = start; // start of the text since the last masked segment, copied as one slice
  let segmentStart = start;
  let query = false;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0x2f;
    const endsSegment = c === 0x2f ? !query || i === end : c === 0x3f ? !query : query && (c === 0x26 || c === 0x3b || c === 0x3d);
    if (!endsSegment && c !== 0x23) continue;
    if (segmentStart < i) {
      const isValue = query && s.charCodeAt(segmentStart - 1) === 0x3d;
      if (isValue || !isRouteWord(s, segmentStart, i)) {
        out += s.slice(kept, segmentStart) + VARIABLE;
        kept = i;
        if (explain) explain.push({ kind: isValue ? 'value' : routeValueKind(s, segmentStart, i), text: s.slice(segmentStart, i) });
      }
    }
    if (c === 0x23 /* # */) {
      if (explain) explain.push({ kind: 'value', text: s.slice(i + 1, end) });
      return `${out}${s.slice(kept, i)}#${VARIABLE}`;
    }
    if (c === 0x3f) query = true;
    segmentStart = i + 1;
  }
  return kept === start ? s.slice(start, end) : out + s.slice(kept, end);
}

/** A route segment that names something: letters joined by `-`, `_` or `.`, at most one capital in a row; or `v2`. */
function isRouteWord(s: string, start: number, end: number): boolean {
  const length = end - start;
  if (length > MAX_ROUTE_SEGMENT_CHARS) return false;
  const first = s.charCodeAt(start);
  if ((first === 0x76 || first === 0x56) && length >= 2 && length <= 4) {
    let digits = true;
    for (let i = start + 1; i < end; i++) if (!isDigit(s.charCodeAt(i))) digits = false;
    if (digits) return true;
  }
  let previousUpper = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isLower(c)) previousUpper = false;
    else if (isUpper(c)) {
      if (previousUpper) return false;
      previousUpper = true;
    } else if (c === 0x2d || c === 0x5f || c === 0x2e) previousUpper = false;
    else return false;
  }
  return length < MIN_GENERATED_RUN - 4 || !isGeneratedId(s, start, end);
}

function routeValueKind(s: string, start: number, end: number): VariableKind {
  const kind = classifyToken(s, start, end);
  return kind > 0 && kind <= KIND_NAMES.length ? KIND_NAMES[kind - 1]! : 'id';
}
