/**
 * Bounded memory of a real `cali quality` process: a window of ~96 MiB of
 * NDJSON (≈72k records, generated streamed) must be read whole while the
 * process stays under 300 MB resident. Holding the rows, or the objects,
 * would cross that. The 1 GiB run and the throughput are in the bench
 * (`node dist/bench/quality-memory.js`), not here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateArchiveWindow, measureQualityRun } from '../bench/quality-memory.js';
import { CLI } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'cali-quality-rss-'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

it('reads a ~96 MiB window in under 300 MB RSS', async () => {
  const window = generateArchiveWindow(join(root, 'archive'), 96);
  const run = await measureQualityRun(join(root, 'archive'), join(root, 'dlq'), CLI);
  expect(run.exitCode).toBe(0);
  expect(run.rows).toBe(window.lines);
  expect(run.uncompressedBytes).toBe(window.uncompressedBytes);
  expect(run.peakRssBytes).toBeGreaterThan(0);
  expect(run.peakRssBytes).toBeLessThan(300e6);
}, 180_000);
