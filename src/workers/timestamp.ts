/**
 * A record's timestamp as epoch milliseconds: exactly what `Date.parse`
 * returns, at a fraction of its cost for the shape nearly every record has
 * (`2026-11-29T10:00:00.123Z`, or an offset instead of `Z`). `Date.parse`
 * cost a worker more than the typia validator; the normalisation step calls
 * this once per valid record. Anything else (a space or lower-case `t`
 * between date and time, lower-case `z`, hour 24...) goes to `Date.parse`,
 * so the result never differs from it (test/timestamp.test.ts compares the
 * two over every field's range and its edges).
 *
 * Like `Date.parse`, a day past the end of its month rolls over into the
 * next one (`2026-02-30` is 2 March); the record's validator accepts days
 * up to 31 in every month.
 */

const ZERO = 0x30;
const DAY_MS = 86_400_000;

/** The two-digit number at `at`, or -1 if either character is not a digit. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - ZERO;
  const ones = text.charCodeAt(at + 1) - ZERO;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/** Days from 1970-01-01 to the given day of the proleptic Gregorian calendar (month 1..12; days past the month's end roll over). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = month > 2 ? month - 3 : month + 9;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Epoch milliseconds of an ISO-8601 timestamp, as `Date.parse` gives them (NaN when it cannot). */
export function epochMsOf(text: string): number {
  const length = text.length;
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z or ±HH:MM.
  if (length < 20 || text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54 || text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) {
    return Date.parse(text);
  }
  const century = twoDigits(text, 0);
  const yearInCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (century < 0 || yearInCentury < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return Date.parse(text);
  }
  let at = 19;
  let millis = 0;
  if (text.charCodeAt(at) === 0x2e) {
    // Date.parse keeps the first three digits of the fraction and ignores the rest.
    const first = ++at;
    while (at < length) {
      const digit = text.charCodeAt(at) - ZERO;
      if (digit < 0 || digit > 9) break;
      if (at - first < 3) millis = millis * 10 + digit;
      at++;
    }
    const digits = at - first;
    if (digits === 0 || digits > 9) return Date.parse(text);
    if (digits < 3) millis *= digits === 1 ? 100 : 10;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 0x5a) {
    if (at + 1 !== length) return Date.parse(text);
  } else if (zone === 0x2b || zone === 0x2d) {
    const offsetHours = twoDigits(text, at + 1);
    const offsetMins = twoDigits(text, at + 4);
    if (at + 6 !== length || text.charCodeAt(at + 3) !== 0x3a || offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return Date.parse(text);
    offsetMinutes = (zone === 0x2b ? 1 : -1) * (offsetHours * 60 + offsetMins);
  } else {
    return Date.parse(text);
  }
  const days = daysFromCivil(century * 100 + yearInCentury, month, day);
  return days * DAY_MS + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}
