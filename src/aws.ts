/**
 * AWS SDK client factories shared by the engine, the CLI and the embedded
 * stack, so that every caller gets the transport settings the emulators and
 * production both need.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  region: string;
  /** Service endpoint override (emulators); unset means the SDK's resolution, including AWS_ENDPOINT_URL_*. */
  endpoint?: string;
  /** Unset means the SDK's default credential chain. */
  credentials?: AwsStaticCredentials;
  /** SDK default (3) when unset. */
  maxAttempts?: number;
}

const CONNECTION_TIMEOUT_MS = 5_000;
/** GetRecords returns at most 10 MB; on a healthy connection that takes well under this. */
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_SOCKETS = 50;

function baseConfig(options: AwsClientOptions): {
  region: string;
  endpoint?: string;
  credentials?: AwsStaticCredentials;
  maxAttempts?: number;
} {
  return {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
}

/**
 * Always HTTP/1.1: the SDK's Kinesis client defaults to HTTP/2, which
 * kinesis-mock does not speak, and the polling consumer gains nothing from it.
 */
export function createKinesisClient(options: AwsClientOptions): KinesisClient {
  return new KinesisClient({
    ...baseConfig(options),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    }),
  });
}

export function createDynamoDbClient(options: AwsClientOptions): DynamoDBClient {
  return new DynamoDBClient(baseConfig(options));
}

/**
 * WHEN_REQUIRED checksums: with the SDK's default (WHEN_SUPPORTED) streamed
 * bodies are sent aws-chunked, which S3-compatible servers such as s3rver store
 * with the chunk framing. Path-style because emulators and most S3-compatible
 * stores do not resolve bucket subdomains.
 */
export function createS3Client(options: AwsClientOptions): S3Client {
  return new S3Client({
    ...baseConfig(options),
    ...(options.endpoint === undefined ? {} : { forcePathStyle: true }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
