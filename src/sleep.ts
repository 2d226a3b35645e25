/**
 * A pause that an abort ends early and quietly: loops that wait between
 * attempts (renewals, reads, retries) must stop at once on shutdown or lease
 * loss, without an AbortError to catch (node:timers/promises rejects instead).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
