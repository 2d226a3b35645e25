/**
 * One streaming aggregator per expectation: it sees every row of the window
 * once (single pass), keeps counters and at most PARTIAL_LIST_SIZE examples,
 * and turns them into a Great Expectations result at the end. Memory is
 * bounded per check: the volume check caps its distinct values, the
 * uniqueness check its key table (then samples keys by hash).
 *
 * GE semantics kept: nulls and missing fields are "missing" and ignored by
 * every column-map expectation except not_null; `mostly` is the fraction of
 * non-missing values that must pass; no non-missing values is a success.
 */
import type { ExpectationResultDetails, RowReference } from './result.js';
import type {
  BetweenKwargs,
  CompoundUniqueKwargs,
  DlqRatioKwargs,
  ExpectationConfig,
  FreshnessKwargs,
  InSetKwargs,
  MatchRegexKwargs,
  NotNullKwargs,
  PairWithinSecondsKwargs,
  RowCountKwargs,
  VolumeKwargs,
} from './suite.js';

/** GE's default for result_format BASIC/SUMMARY. */
export const PARTIAL_LIST_SIZE = 20;
/** Example values are cut here: a log_content value can be 256 KiB. */
const MAX_EXAMPLE_CHARS = 200;
export const DEFAULT_MAX_VALUES = 1000;
export const DEFAULT_MAX_TRACKED_KEYS = 1 << 20;
export const OTHER_VALUES = '__other__';

export type Row = Readonly<Record<string, unknown>>;

/** What every check is told at the end. */
export interface CheckContext {
  /** Reference time for freshness: now, or the window's end when the window lies in the past. */
  readonly referenceMs: number;
  readonly rows: number;
  readonly deadLetters: number | undefined;
  readonly deadLettersByReason: Readonly<Record<string, number>>;
  /** Rows per previous window (index 0 = just before the validated window). */
  readonly baselineRows: readonly number[];
}

export interface CheckOutcome {
  readonly success: boolean;
  readonly result: ExpectationResultDetails;
}

export interface Check {
  readonly config: ExpectationConfig;
  /** A row of the validated window; `where` is called only for rows kept as examples. */
  observe(row: Row, where: () => RowReference): void;
  finish(context: CheckContext): CheckOutcome;
}

/** A row of a previous window (the volume baseline only). */
export interface BaselineCheck extends Check {
  /** The one field observeBaseline reads. */
  readonly baselineColumn: string;
  observeBaseline(row: Row, windowIndex: number): void;
}

export type Getter = (row: Row) => unknown;

/** `kubernetes.pod_name` -> row.kubernetes?.pod_name; a top-level key with a dot in it wins over the path. */
export function compileGetter(column: string): Getter {
  const path = column.split('.');
  if (path.length === 1) return (row) => row[column];
  return (row) => {
    if (column in row) return row[column];
    let value: unknown = row;
    for (const key of path) {
      if (typeof value !== 'object' || value === null) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
}

const isMissing = (value: unknown): boolean => value === null || value === undefined;

/** Epoch ms of an ISO string or a number column; NaN for anything else. */
export function toEpochMs(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Date.parse(value);
  return Number.NaN;
}

function example(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_EXAMPLE_CHARS ? `${value.slice(0, MAX_EXAMPLE_CHARS)}…` : value;
  if (typeof value === 'object' && value !== null) {
    const text = JSON.stringify(value);
    return text.length > MAX_EXAMPLE_CHARS ? `${text.slice(0, MAX_EXAMPLE_CHARS)}…` : value;
  }
  return value;
}

const percent = (part: number, whole: number): number | null => (whole === 0 ? null : (100 * part) / whole);

/** Shared by the column-map expectations: counts, `mostly`, examples. */
abstract class ColumnMapCheck implements Check {
  protected elements = 0;
  protected missing = 0;
  protected unexpected = 0;
  protected readonly examples: unknown[] = [];
  protected readonly exampleRows: RowReference[] = [];
  protected readonly mostly: number;

  constructor(readonly config: ExpectationConfig, mostly: number | undefined, private readonly nullIsUnexpected = false) {
    this.mostly = mostly ?? 1;
  }

  abstract observe(row: Row, where: () => RowReference): void;

  protected flag(value: unknown, where: () => RowReference): void {
    this.unexpected++;
    if (this.examples.length < PARTIAL_LIST_SIZE) {
      this.examples.push(example(value));
      this.exampleRows.push(where());
    }
  }

  protected extra(): Record<string, unknown> | undefined {
    return undefined;
  }

  finish(): CheckOutcome {
    const nonMissing = this.nullIsUnexpected ? this.elements : this.elements - this.missing;
    const success = nonMissing === 0 || (nonMissing - this.unexpected) / nonMissing >= this.mostly;
    const details = this.extra();
    const common = {
      element_count: this.elements,
      unexpected_count: this.unexpected,
      unexpected_percent: percent(this.unexpected, nonMissing),
      unexpected_percent_total: percent(this.unexpected, this.elements),
      partial_unexpected_list: this.examples,
      partial_unexpected_index_list: this.exampleRows,
      ...(details === undefined ? {} : { details }),
    };
    if (this.nullIsUnexpected) return { success, result: common };
    return {
      success,
      result: {
        ...common,
        missing_count: this.missing,
        missing_percent: percent(this.missing, this.elements),
        unexpected_percent_nonmissing: percent(this.unexpected, nonMissing),
      },
    };
  }
}

class NotNullCheck extends ColumnMapCheck {
  private readonly get: Getter;

  constructor(config: ExpectationConfig, kwargs: NotNullKwargs) {
    super(config, kwargs.mostly, true);
    this.get = compileGetter(kwargs.column);
  }

  observe(row: Row, where: () => RowReference): void {
    this.elements++;
    if (isMissing(this.get(row))) this.flag(null, where);
  }
}

/** Column-map checks that ignore missing values and test the rest. */
abstract class ValueCheck extends ColumnMapCheck {
  private readonly get: Getter;

  constructor(config: ExpectationConfig, column: string, mostly: number | undefined) {
    super(config, mostly);
    this.get = compileGetter(column);
  }

  protected abstract passes(value: unknown): boolean;

  observe(row: Row, where: () => RowReference): void {
    this.elements++;
    const value = this.get(row);
    if (isMissing(value)) this.missing++;
    else if (!this.passes(value)) this.flag(value, where);
  }
}

class InSetCheck extends ValueCheck {
  private readonly set: ReadonlySet<unknown>;

  constructor(config: ExpectationConfig, kwargs: InSetKwargs) {
    super(config, kwargs.column, kwargs.mostly);
    this.set = new Set<unknown>(kwargs.value_set);
  }

  protected passes(value: unknown): boolean {
    return this.set.has(value);
  }
}

class MatchRegexCheck extends ValueCheck {
  private readonly regex: RegExp;

  constructor(config: ExpectationConfig, kwargs: MatchRegexKwargs) {
    super(config, kwargs.column, kwargs.mostly);
    // Search semantics, as GE's (re.search): anchor the pattern to match whole values.
    this.regex = new RegExp(kwargs.regex, 'u');
  }

  protected passes(value: unknown): boolean {
    return typeof value === 'string' && this.regex.test(value);
  }
}

class BetweenCheck extends ValueCheck {
  private readonly min: number;
  private readonly max: number;

  constructor(config: ExpectationConfig, private readonly kwargs: BetweenKwargs) {
    super(config, kwargs.column, kwargs.mostly);
    this.min = kwargs.min_value ?? Number.NEGATIVE_INFINITY;
    this.max = kwargs.max_value ?? Number.POSITIVE_INFINITY;
  }

  protected passes(value: unknown): boolean {
    if (typeof value !== 'number' || Number.isNaN(value)) return false;
    const aboveMin = this.kwargs.strict_min === true ? value > this.min : value >= this.min;
    const belowMax = this.kwargs.strict_max === true ? value < this.max : value <= this.max;
    return aboveMin && belowMax;
  }
}

/** Clock skew and the like: |A - B| within max_seconds; a value that is not a time is unexpected. */
class PairWithinSecondsCheck extends ColumnMapCheck {
  private readonly getA: Getter;
  private readonly getB: Getter;
  private readonly maxMs: number;
  private maxAheadMs = 0;
  private maxBehindMs = 0;
  private sumMs = 0;
  private compared = 0;

  constructor(config: ExpectationConfig, kwargs: PairWithinSecondsKwargs) {
    super(config, kwargs.mostly);
    this.getA = compileGetter(kwargs.column_A);
    this.getB = compileGetter(kwargs.column_B);
    this.maxMs = kwargs.max_seconds * 1000;
  }

  observe(row: Row, where: () => RowReference): void {
    this.elements++;
    const a = this.getA(row);
    const b = this.getB(row);
    if (isMissing(a) || isMissing(b)) {
      this.missing++;
      return;
    }
    const diff = toEpochMs(a) - toEpochMs(b);
    if (Number.isNaN(diff)) {
      this.flag([a, b], where);
      return;
    }
    this.compared++;
    this.sumMs += diff;
    if (diff > this.maxAheadMs) this.maxAheadMs = diff;
    if (diff < this.maxBehindMs) this.maxBehindMs = diff;
    if (diff > this.maxMs || diff < -this.maxMs) this.flag([a, b], where);
  }

  protected override extra(): Record<string, unknown> {
    return {
      max_difference_seconds: this.maxAheadMs / 1000,
      min_difference_seconds: this.maxBehindMs / 1000,
      mean_difference_seconds: this.compared === 0 ? null : this.sumMs / this.compared / 1000,
    };
  }
}

/**
 * Two independent 32-bit hashes of a string: the table slot and the stored
 * 53-bit key come from both, the sampling depth from the first. Collisions at
 * a million keys: about one in 10^4 runs miscounts one row.
 */
function hashKey(text: string): { readonly key: number; readonly depth: number } {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  const low = h1 >>> 0;
  // Trailing zero bits of the first hash: a key of depth d is kept while the sampling level is <= d.
  const depth = low === 0 ? 32 : 31 - Math.clz32(low & -low);
  return { key: low * 2 ** 21 + ((h2 >>> 0) >>> 11) + 1, depth };
}

const MAX_DEPTH = 33;
const INITIAL_SLOTS = 1 << 14;

/**
 * Duplicate rows by a compound key (the stream position, by default). Exact
 * while the keys fit in the table; past that it keeps only keys whose hash
 * has at least `level` trailing zero bits (a 2^-level sample of the KEYS, so
 * every copy of a kept key is seen) and scales the duplicate rate found in
 * the sample. `unexpected_count` counts the extra copies, not the first one
 * (GE counts every row of a duplicated group): what at-least-once delivery added.
 */
class CompoundUniqueCheck extends ColumnMapCheck {
  private readonly getters: Getter[];
  private capacity: number;
  private readonly maxCapacity: number;
  private readonly maxKeys: number;
  private table: Float64Array;
  private depths: Uint8Array;
  private keys = 0;
  private level = 0;
  private readonly rowsAtDepth = new Float64Array(MAX_DEPTH);
  private readonly duplicatesAtDepth = new Float64Array(MAX_DEPTH);

  constructor(config: ExpectationConfig, kwargs: CompoundUniqueKwargs) {
    super(config, kwargs.mostly);
    this.getters = kwargs.column_list.map(compileGetter);
    this.maxKeys = kwargs.max_tracked_keys ?? DEFAULT_MAX_TRACKED_KEYS;
    // Load factor <= 0.5 keeps linear probing short.
    this.maxCapacity = 2 ** Math.ceil(Math.log2(this.maxKeys * 2));
    // Grown by doubling: a small window never allocates (and zero-fills) the table for a million keys.
    this.capacity = Math.min(INITIAL_SLOTS, this.maxCapacity);
    this.table = new Float64Array(this.capacity);
    this.depths = new Uint8Array(this.capacity);
  }

  observe(row: Row, where: () => RowReference): void {
    this.elements++;
    let text = '';
    const values: unknown[] = [];
    for (const get of this.getters) {
      const value = get(row);
      if (isMissing(value)) {
        this.missing++;
        return;
      }
      values.push(value);
      text += `${typeof value === 'string' ? value : JSON.stringify(value)}\u0000`;
    }
    const { key, depth } = hashKey(text);
    if (depth < this.level) return;
    this.rowsAtDepth[depth]!++;
    if (this.insert(key, depth)) return;
    this.duplicatesAtDepth[depth]!++;
    if (this.level === 0) this.flag(values, where);
    else if (this.examples.length < PARTIAL_LIST_SIZE) {
      this.examples.push(values);
      this.exampleRows.push(where());
    }
  }

  /** True if the key is new. */
  private insert(key: number, depth: number): boolean {
    const mask = this.capacity - 1;
    for (let slot = key % this.capacity; ; slot = (slot + 1) & mask) {
      const stored = this.table[slot]!;
      if (stored === key) return false;
      if (stored === 0) {
        this.table[slot] = key;
        this.depths[slot] = depth;
        if (++this.keys > this.maxKeys) this.rehash(this.level + 1, this.capacity);
        else if (this.keys * 2 > this.capacity && this.capacity < this.maxCapacity) this.rehash(this.level, this.capacity * 2);
        return true;
      }
    }
  }

  /** Into a table of `capacity` slots, keeping the keys of depth >= `level`: a bigger table, or half the sample. */
  private rehash(level: number, capacity: number): void {
    const oldTable = this.table;
    const oldDepths = this.depths;
    this.level = level;
    this.capacity = capacity;
    this.table = new Float64Array(capacity);
    this.depths = new Uint8Array(capacity);
    this.keys = 0;
    const mask = capacity - 1;
    for (let i = 0; i < oldTable.length; i++) {
      const key = oldTable[i]!;
      if (key === 0 || oldDepths[i]! < level) continue;
      let slot = key % capacity;
      while (this.table[slot] !== 0) slot = (slot + 1) & mask;
      this.table[slot] = key;
      this.depths[slot] = oldDepths[i]!;
      this.keys++;
    }
  }

  override finish(): CheckOutcome {
    if (this.level > 0) {
      // Keys of depth >= level were tracked from the first row on: their duplicate rate is exact for that sample.
      let rows = 0;
      let duplicates = 0;
      for (let d = this.level; d < MAX_DEPTH; d++) {
        rows += this.rowsAtDepth[d]!;
        duplicates += this.duplicatesAtDepth[d]!;
      }
      const nonMissing = this.elements - this.missing;
      this.unexpected = rows === 0 ? 0 : Math.round((duplicates / rows) * nonMissing);
    }
    return super.finish();
  }

  protected override extra(): Record<string, unknown> {
    return { sampled: this.level > 0, sample_fraction: 2 ** -this.level, tracked_keys: this.keys };
  }
}

class RowCountCheck implements Check {
  constructor(readonly config: ExpectationConfig, private readonly kwargs: RowCountKwargs) {}

  observe(): void {}

  finish(context: CheckContext): CheckOutcome {
    const rows = context.rows;
    const success = rows >= (this.kwargs.min_value ?? 0) && rows <= (this.kwargs.max_value ?? Number.POSITIVE_INFINITY);
    return { success, result: { observed_value: rows } };
  }
}

class FreshnessCheck implements Check {
  private readonly get: Getter;
  private maxMs = Number.NEGATIVE_INFINITY;
  private elements = 0;
  private missing = 0;

  constructor(readonly config: ExpectationConfig, private readonly kwargs: FreshnessKwargs) {
    this.get = compileGetter(kwargs.column);
  }

  observe(row: Row): void {
    this.elements++;
    const ms = toEpochMs(this.get(row));
    if (Number.isNaN(ms)) this.missing++;
    else if (ms > this.maxMs) this.maxMs = ms;
  }

  finish(context: CheckContext): CheckOutcome {
    const found = Number.isFinite(this.maxMs);
    const ageMinutes = found ? (context.referenceMs - this.maxMs) / 60_000 : null;
    return {
      // No rows at all is not fresh.
      success: ageMinutes !== null && ageMinutes <= this.kwargs.max_age_minutes,
      result: {
        observed_value: found ? new Date(this.maxMs).toISOString() : null,
        element_count: this.elements,
        missing_count: this.missing,
        missing_percent: percent(this.missing, this.elements),
        details: { age_minutes: ageMinutes, reference_time: new Date(context.referenceMs).toISOString() },
      },
    };
  }
}

export interface ValueVolume {
  readonly value: string;
  /** Oldest previous window first, the validated window last. */
  readonly counts: number[];
  readonly baseline_mean: number;
  readonly sigma: number;
  readonly z: number | null;
  readonly judged: boolean;
}

/**
 * Rows per value (service) in the validated window against the same windows
 * before it. sigma is the baseline's sample standard deviation, but never
 * below sqrt(mean) (the Poisson noise of a count) or 1: a perfectly steady
 * baseline must not make a one-record wobble a 10-sigma event. Previous
 * windows with no rows at all (before the archive started, a pipeline outage)
 * are left out of the baseline; with fewer than 2 left nothing is judged.
 */
class VolumeCheck implements BaselineCheck {
  private readonly get: Getter;
  private readonly maxValues: number;
  private readonly windows: number;
  private readonly counts = new Map<string, Float64Array>();
  readonly baselineColumn: string;

  constructor(readonly config: ExpectationConfig, private readonly kwargs: VolumeKwargs) {
    this.baselineColumn = kwargs.column;
    this.get = compileGetter(kwargs.column);
    this.maxValues = kwargs.max_values ?? DEFAULT_MAX_VALUES;
    this.windows = kwargs.previous_windows;
  }

  private countsOf(row: Row): Float64Array {
    const raw = this.get(row);
    let value = isMissing(raw) ? '(null)' : typeof raw === 'string' ? raw : JSON.stringify(raw);
    let counts = this.counts.get(value);
    if (counts === undefined) {
      if (this.counts.size >= this.maxValues) value = OTHER_VALUES;
      counts = this.counts.get(value);
      if (counts === undefined) {
        counts = new Float64Array(this.windows + 1);
        this.counts.set(value, counts);
      }
    }
    return counts;
  }

  observe(row: Row): void {
    this.countsOf(row)[0]!++;
  }

  observeBaseline(row: Row, windowIndex: number): void {
    if (windowIndex >= 1 && windowIndex <= this.windows) this.countsOf(row)[windowIndex]!++;
  }

  finish(context: CheckContext): CheckOutcome {
    const usable: number[] = [];
    for (let i = 1; i <= this.windows; i++) if ((context.baselineRows[i - 1] ?? 0) > 0) usable.push(i);
    const minMean = this.kwargs.min_baseline_mean ?? 0;
    const volumes: ValueVolume[] = [];
    for (const [value, counts] of this.counts) {
      const baseline = usable.map((i) => counts[i]!);
      const mean = baseline.length === 0 ? 0 : baseline.reduce((a, b) => a + b, 0) / baseline.length;
      const variance = baseline.length < 2 ? 0 : baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / (baseline.length - 1);
      const sigma = Math.max(Math.sqrt(variance), Math.sqrt(mean), 1);
      const judged = usable.length >= 2 && mean >= minMean && mean > 0;
      const current = counts[0]!;
      volumes.push({
        value,
        counts: [...Array.from({ length: this.windows }, (_, k) => counts[this.windows - k]!), current],
        baseline_mean: mean,
        sigma,
        z: usable.length >= 2 ? (current - mean) / sigma : null,
        judged,
      });
    }
    volumes.sort((a, b) => (a.value < b.value ? -1 : 1));
    const judgedVolumes = volumes.filter((v) => v.judged);
    const outliers = judgedVolumes.filter((v) => Math.abs(v.z!) > this.kwargs.k_sigma).sort((a, b) => Math.abs(b.z!) - Math.abs(a.z!));
    return {
      success: outliers.length === 0,
      result: {
        element_count: judgedVolumes.length,
        unexpected_count: outliers.length,
        unexpected_percent: percent(outliers.length, judgedVolumes.length),
        partial_unexpected_list: outliers.slice(0, PARTIAL_LIST_SIZE).map((v) => ({ value: v.value, count: v.counts.at(-1), baseline_mean: v.baseline_mean, z: v.z, direction: v.z! < 0 ? 'drop' : 'spike' })),
        observed_value: Object.fromEntries(volumes.map((v) => [v.value, v.counts.at(-1)])),
        details: { baseline_windows_used: usable.length, values: volumes },
      },
    };
  }
}

class DlqRatioCheck implements Check {
  constructor(readonly config: ExpectationConfig, private readonly kwargs: DlqRatioKwargs) {}

  observe(): void {}

  finish(context: CheckContext): CheckOutcome {
    const deadLetters = context.deadLetters;
    if (deadLetters === undefined) throw new Error('the DLQ was not read: set CALI_DLQ_URI');
    const total = deadLetters + context.rows;
    const ratio = total === 0 ? 0 : deadLetters / total;
    return {
      success: ratio <= this.kwargs.max_ratio,
      result: {
        observed_value: ratio,
        element_count: total,
        unexpected_count: deadLetters,
        unexpected_percent: percent(deadLetters, total),
        details: { dead_letters: deadLetters, archived: context.rows, by_reason: context.deadLettersByReason },
      },
    };
  }
}

export function createCheck(config: ExpectationConfig): Check {
  switch (config.expectation_type) {
    case 'expect_column_values_to_not_be_null':
      return new NotNullCheck(config, config.kwargs);
    case 'expect_column_values_to_be_in_set':
      return new InSetCheck(config, config.kwargs);
    case 'expect_column_values_to_match_regex':
      return new MatchRegexCheck(config, config.kwargs);
    case 'expect_column_values_to_be_between':
      return new BetweenCheck(config, config.kwargs);
    case 'expect_table_row_count_to_be_between':
      return new RowCountCheck(config, config.kwargs);
    case 'expect_column_max_to_be_within_minutes_of_now':
      return new FreshnessCheck(config, config.kwargs);
    case 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows':
      return new VolumeCheck(config, config.kwargs);
    case 'expect_dlq_ratio_to_be_below':
      return new DlqRatioCheck(config, config.kwargs);
    case 'expect_column_pair_values_to_be_within_seconds':
      return new PairWithinSecondsCheck(config, config.kwargs);
    case 'expect_compound_columns_to_be_unique':
      return new CompoundUniqueCheck(config, config.kwargs);
    default: {
      const unknown: never = config;
      throw new TypeError(`unknown expectation ${JSON.stringify(unknown)}`);
    }
  }
}

export function isBaselineCheck(check: Check): check is BaselineCheck {
  return 'observeBaseline' in check;
}
