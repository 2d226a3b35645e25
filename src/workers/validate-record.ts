/**
 * Compiled typia validators for the log record (src/schema/log-record.ts). The
 * typia transform turns these calls into specialised code at build time; the
 * build check (scripts/check-typia.mjs) fails if one slips through untransformed.
 * `validate` reports failures as values (paths + expectations), never throws:
 * invalid records are routine input here, not exceptions.
 */
import typia from 'typia';
import type { LogRecord } from '../schema/log-record.js';

export const validateLogRecord = typia.createValidate<LogRecord>();
