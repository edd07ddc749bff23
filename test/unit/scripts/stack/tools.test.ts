import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLUSTER_TOOLS,
  ensureTool,
  TEMPORAL_SERVER,
  TEMPORAL_UI_SERVER,
} from '../../../../scripts/stack/tools';

let scratch: string | undefined;
afterEach(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A stand-in `go` that installs a binary named `server` into $GOBIN, as `go install .../cmd/server` does. */
async function fakeGo(): Promise<{ toolsDir: string; pathVariable: string }> {
  scratch = await mkdtemp(path.join(tmpdir(), 'kerf-tools-'));
  const goDir = path.join(scratch, 'go-bin');
  await mkdir(goDir);
  await writeFile(
    path.join(goDir, 'go'),
    '#!/bin/sh\necho "example.com/cmd/server" >&2\nprintf \'#!/bin/sh\\necho "$2"\\n\' > "$GOBIN/server"\nchmod +x "$GOBIN/server"\n',
    { mode: 0o755 },
  );
  return { toolsDir: path.join(scratch, 'tools'), pathVariable: goDir };
}

describe('the cluster tools', () => {
  it('are the server, its SQL tool and the UI server, pinned to their releases', () => {
    expect(CLUSTER_TOOLS.map((tool) => [tool.name, tool.module])).toEqual([
      ['temporal-server', 'go.temporal.io/server/cmd/server@v1.29.1'],
      ['temporal-sql-tool', 'go.temporal.io/server/cmd/tools/sql@v1.29.1'],
      ['temporal-ui-server', 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1'],
    ]);
  });

  it('build each `server` in a folder of its own and land under their own names, leaving no build folder', async () => {
    const lookup = await fakeGo();
    const lines: string[] = [];
    const server = await ensureTool(TEMPORAL_SERVER, lookup, (line) => lines.push(line));
    const ui = await ensureTool(TEMPORAL_UI_SERVER, lookup, (line) => lines.push(line));
    expect(server).toBe(path.join(lookup.toolsDir, 'bin', 'temporal-server'));
    expect(ui).toBe(path.join(lookup.toolsDir, 'bin', 'temporal-ui-server'));
    expect((await readdir(path.join(lookup.toolsDir, 'bin'))).sort()).toEqual([
      'temporal-server',
      'temporal-ui-server',
    ]);
    expect((await readdir(lookup.toolsDir)).sort()).toEqual(['bin', 'logs']);
    expect(lines.filter((line) => line.startsWith('Built '))).toHaveLength(2);
    // Found the second time, not built again.
    lines.length = 0;
    expect(await ensureTool(TEMPORAL_SERVER, lookup, (line) => lines.push(line))).toBe(server);
    expect(lines).toEqual([]);
  });
});
