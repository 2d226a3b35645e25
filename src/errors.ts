/**
 * Errors that reach an operator carry a stable code; code, not message text,
 * is what callers and tests match on (also across worker-thread boundaries,
 * where structured clone drops the class).
 */
export type CaliErrorCode =
  | 'CALI_ERR_CONFIG'
  | 'CALI_ERR_USAGE'
  | 'CALI_ERR_PORT_IN_USE'
  | 'CALI_ERR_EMULATOR_MISSING'
  | 'CALI_ERR_EMULATOR_START'
  | 'CALI_ERR_EMULATOR_EXIT'
  | 'CALI_ERR_STREAM'
  | 'CALI_ERR_LEASE_TABLE'
  | 'CALI_ERR_PUT_RECORDS'
  | 'CALI_ERR_ALERT_TABLE'
  | 'CALI_ERR_RAG_MODEL_MISMATCH'
  | 'CALI_ERR_VECTOR_STORE';

export class CaliError extends Error {
  readonly code: CaliErrorCode;

  constructor(code: CaliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaliError';
    this.code = code;
  }
}

export function isCaliError(error: unknown): error is CaliError {
  const code: unknown = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('CALI_ERR_');
}
