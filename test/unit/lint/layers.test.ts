import { describe, expect, it } from 'vitest';
import { lintText } from './lintText';

// The layers between folders are kept by lint rules only: check each one refuses a climbing import and
// lets the downhill one through, so a rule that stopped biting fails here.
const zones = 'import-x/no-restricted-paths';
const temporalBan = 'no-restricted-imports';

const cases: {
  layer: string;
  file: string;
  rule: string;
  refused: string;
  allowed: string;
  reason: RegExp;
}[] = [
  {
    layer: 'ml/ imports only ml/ and npm packages',
    file: 'ml/random.ts',
    rule: zones,
    refused: "import { repoRoot } from '../platform/paths';",
    allowed: "import { MISSING_CODE } from './table';\nimport { table } from 'arquero';",
    reason: /ml\/ is the pure ML core/,
  },
  {
    layer: 'lifecycle/ imports no Temporal package',
    file: 'lifecycle/split.ts',
    rule: temporalBan,
    refused: "import { Context } from '@temporalio/activity';",
    allowed: "import { streamFor } from '../ml/random';",
    reason: /are pure: Temporal belongs in activities\//,
  },
  {
    layer: 'monitoring/ imports no Temporal package',
    file: 'monitoring/drift.ts',
    rule: temporalBan,
    refused: "import type { Client } from '@temporalio/client';",
    allowed: "import { argmaxRows } from '../ml/metrics';",
    reason: /are pure: Temporal belongs in activities\//,
  },
  {
    layer: 'serving/ never imports activities/',
    file: 'serving/app.ts',
    rule: zones,
    refused: "import { createActivities } from '../activities';",
    allowed: "import { getModel } from '../registry';",
    reason: /Domain code runs without Temporal/,
  },
  {
    layer: 'domain folders never import workflows/client/',
    file: 'registry/index.ts',
    rule: zones,
    refused: "import { lifecycleInput } from '../workflows/client/lifecycleRuns';",
    allowed: "import { singleStatement } from '../platform/database';",
    reason: /Domain code runs without Temporal/,
  },
  {
    layer: 'platform/ imports no domain folder',
    file: 'platform/paths.ts',
    rule: zones,
    refused: "import { getModel } from '../registry';",
    allowed: "import { currentCodeVersion } from './codeVersion';\nimport pg from 'pg';",
    reason: /platform\/ is infrastructure only/,
  },
];

describe('the layers between folders', () => {
  it.each(cases)('$layer: refuses a climbing import', async ({ file, rule, refused, reason }) => {
    const messages = await lintText(file, `${refused}\nexport const x = 1;\n`, rule);
    expect(messages.map((message) => message.message)).toEqual([expect.stringMatching(reason)]);
  });

  it.each(cases)('$layer: allows a downhill import', async ({ file, rule, allowed }) => {
    const messages = await lintText(file, `${allowed}\nexport const x = 1;\n`, rule);
    expect(messages).toEqual([]);
  });
});
