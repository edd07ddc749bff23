/**
 * How the two task queues are named. No imports: the configuration, the starters and the workflow
 * (which cannot read the environment) all derive the heavy queue from the light one the same way.
 */

/** The heavy queue's name when none is configured: the light queue's, plus `-heavy`. */
export function heavyQueueOf(lightTaskQueue: string): string {
  return `${lightTaskQueue}-heavy`;
}
