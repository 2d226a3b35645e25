import { InvalidArgumentError } from 'commander';

/** Commander argument parser for a whole number in [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  };
}

/** Commander argument parser for a number in [min, max] (rates, ratios, seconds). */
export function numberOption(min: number, max = Number.MAX_VALUE): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  };
}

const RELATIVE_TIME = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** A calendar date first: Date.parse alone takes "1" for the year 2001. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An instant in epoch ms: an ISO-8601 time (`2025-01-02T03:00:00Z`; a date
 * alone is midnight UTC) or a span before `nowMs` (`90s`, `15m`, `1h`, `2d`, `1w`).
 */
export function parseTimeSpec(value: string, nowMs: number): number {
  const text = value.trim();
  const relative = RELATIVE_TIME.exec(text);
  if (relative) return nowMs - Math.round(Number(relative[1]) * UNIT_MS[relative[2]!]!);
  const ms = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`expected an ISO time such as 2025-01-02T03:00:00Z or a span before now such as 30m, 1h, 2d; got "${value}"`);
  return ms;
}

/** Commander argument parser for parseTimeSpec, relative to when the command line is parsed. */
export function timeOption(now: () => number = Date.now): (value: string) => number {
  return (value) => parseTimeSpec(value, now());
}
