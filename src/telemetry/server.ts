/**
 * The telemetry HTTP server (Fastify): /metrics for Prometheus, /healthz
 * (the process answers), /readyz (leases held or none available, sinks
 * healthy), /status (JSON for operators). Listens on CALI_METRICS_PORT; a
 * port in use fails start-up with a message naming that variable.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { CaliError } from '../errors.js';
import type { Telemetry } from './telemetry.js';

export interface TelemetryServerOptions {
  /** 0 picks a free port (the bound one is in `port` afterwards). */
  readonly port: number;
  readonly host: string;
}

export interface TelemetryServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export function buildTelemetryApp(telemetry: Telemetry): FastifyInstance {
  // Requests are not logged: Prometheus scrapes every few seconds and the consumer's log is for events.
  const app = Fastify({ logger: false, return503OnClosing: true, forceCloseConnections: 'idle' });
  app.get('/metrics', async (_request, reply) => {
    const body = await telemetry.metrics.metrics();
    return reply.header('content-type', telemetry.metrics.contentType).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = telemetry.status.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  app.get('/status', async () => telemetry.status.report());
  return app;
}

export async function startTelemetryServer(telemetry: Telemetry, options: TelemetryServerOptions): Promise<TelemetryServer> {
  const app = buildTelemetryApp(telemetry);
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (error) {
    await app.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      throw new CaliError('CALI_ERR_PORT_IN_USE', `CALI_METRICS_PORT: port ${options.port} on ${options.host} is already in use (another consumer?): set CALI_METRICS_PORT to a free port, or 0 to pick one`, { cause: error });
    }
    if (code === 'EACCES') {
      throw new CaliError('CALI_ERR_CONFIG', `CALI_METRICS_PORT: port ${options.port} needs privileges: set CALI_METRICS_PORT to 1024 or above`, { cause: error });
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}`,
    close: () => app.close(),
  };
}
