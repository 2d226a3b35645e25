/**
 * Reading the process environment happens here and only here: each setting is
 * validated once, and an error names the variable and how to fix it.
 */
import { CaliError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export function configError(variable: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${variable} ${problem}: ${fix}`);
}

/** A setting's error whose problem and fix are one sentence. */
export function settingError(variable: string, message: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${variable} ${message}`);
}

export function requiredString(env: Env, variable: string, fix: string): string {
  const value = env[variable]?.trim();
  if (!value) throw configError(variable, 'is not set', fix);
  return value;
}

export function optionalUrl(env: Env, variable: string): string | undefined {
  const value = env[variable]?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(variable, `is not a URL ("${value}")`, 'set it to an http(s) endpoint such as http://127.0.0.1:4567, or unset it to use AWS');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(variable, `must be http or https, got "${url.protocol}"`, 'set it to an http(s) endpoint, or unset it to use AWS');
  }
  return value;
}

/** Kinesis stream names: 1-128 of [a-zA-Z0-9_.-] (AWS API constraint). */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

export interface KinesisStreamEnv {
  readonly region: string;
  readonly streamName: string;
  readonly kinesisEndpoint: string | undefined;
}

export function loadKinesisStreamEnv(env: Env): KinesisStreamEnv {
  const region = requiredString(env, 'AWS_REGION', 'set it to the stream\'s region, e.g. AWS_REGION=us-east-1 (cali stack writes it to its --env-file)');
  const streamName = requiredString(env, 'CALI_STREAM_NAME', 'set it to the Kinesis stream name (cali stack writes it to its --env-file)');
  if (!STREAM_NAME.test(streamName)) {
    throw configError('CALI_STREAM_NAME', `is not a valid stream name ("${streamName}")`, 'use 1-128 letters, digits, "_", "." or "-"');
  }
  return { region, streamName, kinesisEndpoint: optionalUrl(env, 'AWS_ENDPOINT_URL_KINESIS') };
}
