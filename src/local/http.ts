import type { Server } from 'node:http';

/** Also drops kept-alive client connections, which would otherwise hold close() open. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
