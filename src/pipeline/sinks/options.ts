/**
 * Checks shared by the sink configs: every problem is a CaliError naming the
 * sink, the option and the fix (fail fast at start-up, not at first write).
 */
import { CaliError } from '../../errors.js';

export function optionError(owner: string, option: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${owner}: ${option} ${problem}: ${fix}`);
}

/** Unknown fields are rejected: a misspelt option silently falling back to its default is a production surprise. */
export function rejectUnknownOptions(input: object, allowed: readonly string[], owner: string): void {
  for (const name of Object.keys(input)) {
    if (!allowed.includes(name)) throw optionError(owner, `"${name}"`, 'is not an option', `use one of ${allowed.join(', ')}`);
  }
}

export function positiveInteger(owner: string, option: string, value: number, example: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw optionError(owner, option, `must be a positive integer, got ${value}`, `use e.g. ${example}`);
  return value;
}
