/** dynalite: an in-memory DynamoDB, in-process, on loopback. */
import dynalite from 'dynalite';
import { closeHttpServer } from './http.js';
import { listenOnLoopback, loopbackUrl } from './net.js';

export interface DynamoDbEmulator {
  readonly endpoint: string;
  readonly port: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

export async function startDynamoDbEmulator(options: { port?: number } = {}): Promise<DynamoDbEmulator> {
  // Tables are usable at once instead of after dynalite's simulated 500 ms.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenOnLoopback(server, options.port ?? 0, 'DynamoDB emulator');
  let stopping: Promise<void> | undefined;
  return {
    endpoint: loopbackUrl(port),
    port,
    stop: () => (stopping ??= closeHttpServer(server)),
  };
}
