import { createServer, type Server } from 'node:net';
import { CaliError } from '../errors.js';

export const LOOPBACK = '127.0.0.1';

export function loopbackUrl(port: number): string {
  return `http://${LOOPBACK}:${port}`;
}

export function portInUseError(port: number, what: string): CaliError {
  return new CaliError(
    'CALI_ERR_PORT_IN_USE',
    `port ${port} for the ${what} is already in use on ${LOOPBACK}; choose another port or stop the process using it`,
  );
}

/** Listens on loopback; a taken port becomes CALI_ERR_PORT_IN_USE naming `what`. Resolves the bound port. */
export function listenOnLoopback(server: Server, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(error.code === 'EADDRINUSE' ? portInUseError(port, what) : error);
    };
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`${what} is not listening on a TCP port`));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
  });
}

/**
 * A port the kernel just handed out on loopback. Another process could take it
 * before our child binds it; for ephemeral ports that race is negligible.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server, 0, 'port probe');
  await closeServer(server);
  return port;
}

/** For servers we cannot bind ourselves (a child process): fail early with a clear error. */
export async function assertLoopbackPortFree(port: number, what: string): Promise<void> {
  const server = createServer();
  await listenOnLoopback(server, port, what);
  await closeServer(server);
}
