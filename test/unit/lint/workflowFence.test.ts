import { describe, expect, it } from 'vitest';
import { lintText } from './lintText';

// The lint rule is what keeps I/O out of the deterministic workflow sandbox; check it bites.
const lintWorkflow = (code: string) => lintText('workflows/smoke.ts', code, 'no-restricted-imports');

describe('the workflows/ import fence', () => {
  it.each([
    ["import { readFile } from 'node:fs/promises';", /deterministic sandbox/],
    ["import crypto from 'crypto';", /deterministic sandbox/],
    ["import pg from 'pg';", /only types from runtime libraries/],
    ["import { S3Client } from '@aws-sdk/client-s3';", /only types from runtime libraries/],
    ["import { createActivities } from '../activities';", /activity types only/],
    ["import { specHash } from '../lifecycle/spec';", /values only from workflows\//],
    ["import { lifecycleInput } from './client/lifecycleRuns';", /ordinary Node code that starts runs/],
  ])('refuses %s', async (line, reason) => {
    const messages = await lintWorkflow(`${line}\nexport const x = 1;\n`);
    expect(messages.map((message) => message.message).join('\n')).toMatch(reason);
  });

  it('allows the workflow SDK, other workflow modules and type-only imports', async () => {
    const messages = await lintWorkflow(
      "import { proxyActivities } from '@temporalio/workflow';\nimport type pg from 'pg';\n" +
        "import type { createActivities } from '../activities';\n" +
        "import type { PipelineSpec } from '../lifecycle/spec/schema';\n" +
        "import type { lifecycleInput } from './client/lifecycleRuns';\n" +
        "import { quickIo } from './activityProfiles';\nexport const x = 1;\n",
    );
    expect(messages).toEqual([]);
  });
});
