/**
 * The smoke check: one workflow whose activity touches PostgreSQL and S3, proving the worker, the
 * database and the object store work together. Its ids let a person find both things it wrote.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { quickIo } from './activityProfiles';

export interface SmokeCheckInput {
  /** Free text stored with the check, e.g. who started it. */
  note: string;
}

export interface SmokeCheckResult {
  /** Id of the row written to `smoke_checks`. */
  rowId: string;
  /** Key of the object written to the bucket. */
  objectKey: string;
}

const { recordSmokeCheck } = proxyActivities<ReturnType<typeof createActivities>>(quickIo);

export async function smokeCheck(input: SmokeCheckInput): Promise<SmokeCheckResult> {
  return recordSmokeCheck({ note: input.note });
}
