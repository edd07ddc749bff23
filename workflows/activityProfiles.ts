/** Named timeout and retry profiles, one per kind of activity. */
import type { ActivityOptions } from '@temporalio/workflow';

/** Short database and object-store calls: fail fast, retry a few times on network hiccups. */
export const quickIo: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
};
