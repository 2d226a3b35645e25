/**
 * The worker's timestamp normalisation: its own parser for the usual ISO-8601
 * shape must give exactly what Date.parse gives (the archive's timestampMs
 * did not change when it replaced Date.parse), on every field's range, its
 * edges, and the shapes it leaves to Date.parse.
 */
import { describe, expect, it } from 'vitest';
import { epochMsOf } from '../src/workers/timestamp.js';

const two = (n: number): string => String(n).padStart(2, '0');

/** A small deterministic generator (no dependency on Math.random: failures must reproduce). */
function lcg(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % below;
  };
}

function expectSameAsDateParse(text: string): void {
  expect(Object.is(epochMsOf(text), Date.parse(text)) || (Number.isNaN(epochMsOf(text)) && Number.isNaN(Date.parse(text))), text).toBe(true);
}

describe('epochMsOf', () => {
  it('equals Date.parse on random timestamps over every field, in and out of range, with every zone form', () => {
    const random = lcg(42);
    for (let i = 0; i < 50_000; i++) {
      const year = random(3) === 0 ? random(10_000) : 1960 + random(100);
      const fraction = random(3) === 0 ? '' : `.${String(random(1_000_000_000)).padStart(9, '0').slice(0, 1 + random(10))}`;
      const zone = ['Z', 'z', `+${two(random(25))}:${two(random(61))}`, `-${two(random(25))}:${two(random(61))}`, '', '+0530'][random(6)]!;
      const separator = ['T', 'T', 't', ' '][random(4)]!;
      expectSameAsDateParse(`${String(year).padStart(4, '0')}-${two(random(14))}-${two(random(33))}${separator}${two(random(26))}:${two(random(61))}:${two(random(61))}${fraction}${zone}`);
    }
  });

  it('equals Date.parse at the edges: epoch, years 0 and 9999, leap days, day rollover, extreme offsets, long fractions', () => {
    for (const text of [
      '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '0000-01-01T00:00:00Z', '0000-01-01T00:00:00.999-23:59', '0099-03-01T00:00:00Z',
      '9999-12-31T23:59:59.999+00:00', '2024-02-29T12:00:00Z', '2025-02-29T12:00:00Z', '2026-02-31T10:00:00.123Z', '2026-04-31T00:00:00Z',
      '2000-02-29T00:00:00+23:59', '1900-02-29T00:00:00Z', '2026-11-29T10:00:00.1Z', '2026-11-29T10:00:00.12+05:30', '2026-11-29T10:00:00.123456789Z',
    ]) expectSameAsDateParse(text);
  });

  it('leaves other shapes to Date.parse, including ones it cannot parse', () => {
    for (const text of [
      '2026-11-29 10:00:00Z', '2026-11-29t10:00:00z', '2026-11-29\u202810:00:00Z', '2026-11-29T10:00:00', '2026-11-29T24:00:00Z', '2026-11-29T10:00:60Z',
      '2026-11-29T10:00:00.Z', '2026-11-29T10:00:00.1234567890Z', '2026-11-29T10:00:00ZZ', '2026-11-29T10:00:00+05:3', '2026-11-29T10:00:00+05:300',
      '+02026-11-29T10:00:00Z', 'abcd-11-29T10:00:00Z', '2026-1a-29T10:00:00Z', '', 'not a date',
    ]) expectSameAsDateParse(text);
    expect(epochMsOf('2026-11-29\u202810:00:00Z')).toBeNaN();
  });
});
