/** Fingerprints are the same in a worker thread running the built module (what the pipeline runs) as here. */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { LogSimulator } from '../src/simulator/generator.js';
import { compileFingerprinter, type FingerprintInput } from '../src/workers/fingerprint/fingerprint.js';

const BUILT = resolve('dist/src/workers/fingerprint/fingerprint.js');

it('a worker thread running dist/ gives the same fingerprints as this thread', async () => {
  expect(existsSync(BUILT), 'run `npm run build` first (npm test does)').toBe(true);
  const simulator = new LogSimulator({ seed: 21, errorRatio: 0.5, invalidRatio: 0 });
  const events: FingerprintInput[] = [{ message: 'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown' }, {}];
  while (events.length < 300) {
    const event = simulator.next();
    if (event.kind === 'valid') events.push(event.record);
  }
  const config = { inAppPrefixes: ['com.acme.', 'inventory', 'notifications', 'recommendations'] };
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ compileFingerprinter }) => {
      const fingerprint = compileFingerprinter(workerData.config);
      parentPort.postMessage(workerData.events.map((e) => fingerprint(e).fingerprint));
    });`, { eval: true, workerData: { module: pathToFileURL(BUILT).href, config, events } });
  const [fromWorker] = (await once(worker, 'message')) as [string[]];
  await worker.terminate();
  const here = compileFingerprinter(config);
  expect(fromWorker).toEqual(events.map((e) => here(e).fingerprint));
  expect(new Set(fromWorker).size).toBeGreaterThan(9);
});
