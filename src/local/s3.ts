/** s3rver: a filesystem-backed S3, in-process, on loopback. */
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { closeHttpServer } from './http.js';
import { listenOnLoopback, loopbackUrl } from './net.js';

/** s3rver accepts only this access key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3EmulatorOptions {
  port?: number;
  /** Objects are kept here after stop; unset means a temporary directory removed on stop. */
  directory?: string;
  buckets?: readonly string[];
}

export interface S3Emulator {
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Idempotent. */
  stop(): Promise<void>;
}

export async function startS3Emulator(options: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const temporary = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'cali-s3-')));
  const removeTemporary = async (): Promise<void> => {
    if (temporary) await rm(directory, { recursive: true, force: true });
  };
  try {
    await mkdir(directory, { recursive: true });
    const s3rver = new S3rver({
      silent: true,
      directory,
      configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
    });
    await s3rver.configureBuckets();
    // Our own server rather than s3rver.run(): its listen() never reports a
    // bind error, it leaves an unhandled 'error' event that kills the process.
    const server = createServer(s3rver.callback());
    const port = await listenOnLoopback(server, options.port ?? 0, 'S3 emulator');
    let stopping: Promise<void> | undefined;
    return {
      endpoint: loopbackUrl(port),
      port,
      directory,
      stop: () =>
        (stopping ??= (async () => {
          await closeHttpServer(server);
          await removeTemporary();
        })()),
    };
  } catch (error) {
    await removeTemporary();
    throw error;
  }
}
