/**
 * Grouping Accuracy on hand-written lines in the styles of public log corpora
 * (test/fixtures/fingerprint). The floors guard against regressions; the
 * measured numbers are in docs/fingerprinting.md
 * (`node dist/bench/fingerprint-accuracy.js` prints them).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusAccuracy, overall } from '../bench/fingerprint-accuracy.js';
import { groupingAccuracy } from '../bench/grouping-accuracy.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';

const fingerprint = compileFingerprinter();

describe('grouping accuracy', () => {
  it('follows Zhu et al.: a line is right only if its predicted group is exactly its true group', () => {
    expect(groupingAccuracy(['a', 'a', 'b'], ['1', '1', '2'])).toBe(1);
    expect(groupingAccuracy(['a', 'a', 'b'], ['1', '2', '3'])).toBeCloseTo(1 / 3); // a split: both a lines wrong
    expect(groupingAccuracy(['a', 'a', 'b'], ['1', '1', '1'])).toBe(0); // a merge: every line wrong
    expect(groupingAccuracy([], [])).toBe(1);
  });

  it('stays high on corpus-style lines the rules were tuned on (dev)', () => {
    const results = corpusAccuracy(fingerprint, resolve('test/fixtures/fingerprint/dev'));
    expect(overall(results)).toBeGreaterThanOrEqual(0.9);
    for (const r of results) expect(r.merged, r.style).toEqual([]);
  });

  it('generalises to corpus styles kept out of tuning (held-out)', () => {
    const results = corpusAccuracy(fingerprint, resolve('test/fixtures/fingerprint/heldout'));
    expect(overall(results)).toBeGreaterThanOrEqual(0.88);
    for (const r of results) expect(r.merged, r.style).toEqual([]);
  });
});
