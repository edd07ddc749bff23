/**
 * The servers Kerf builds from source when the machine lacks them: the official Temporal CLI
 * (whose `server start-dev` is the embedded Temporal) and versitygw (the embedded S3 server), and,
 * only for the local cluster, the Temporal server, its SQL schema tool and the Web UI server.
 * All come from the Go module proxy with `go install`, into `<toolsDir>/bin`.
 */
import { spawn } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';

export interface GoTool {
  /** Binary name. */
  name: string;
  /** `go install` argument: module path and version. */
  module: string;
  /** What a person should know it is. */
  purpose: string;
  /**
   * The name `go install` gives the binary when it differs from `name`: the Temporal server and the
   * UI server are both `cmd/server`, so each is built into a folder of its own and renamed.
   */
  installedName?: string;
}

export const TEMPORAL_CLI: GoTool = {
  name: 'temporal',
  // v1.5.1 is the newest release without a `replace` directive, which `go install` refuses.
  module: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
  purpose: 'the Temporal CLI (its dev server is the embedded Temporal)',
};

export const VERSITYGW: GoTool = {
  name: 'versitygw',
  module: 'github.com/versity/versitygw/cmd/versitygw@v1.7.0',
  purpose: 'versitygw (the embedded S3-compatible server)',
};

/** The local cluster's Temporal server (frontend, history, matching and worker services). */
export const TEMPORAL_SERVER: GoTool = {
  name: 'temporal-server',
  module: 'go.temporal.io/server/cmd/server@v1.29.1',
  purpose: 'the Temporal server (the local cluster)',
  installedName: 'server',
};

/** Creates and upgrades the cluster's schemas in PostgreSQL; it carries the schema files inside. */
export const TEMPORAL_SQL_TOOL: GoTool = {
  name: 'temporal-sql-tool',
  module: 'go.temporal.io/server/cmd/tools/sql@v1.29.1',
  purpose: "the Temporal SQL schema tool (the local cluster's schemas)",
  installedName: 'sql',
};

/** The Temporal Web UI server, for the local cluster (the dev server has its own inside). */
export const TEMPORAL_UI_SERVER: GoTool = {
  name: 'temporal-ui-server',
  module: 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1',
  purpose: 'the Temporal Web UI server (the local cluster)',
  installedName: 'server',
};

/** What the local cluster needs besides PostgreSQL, in build order. */
export const CLUSTER_TOOLS: readonly GoTool[] = [TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER];

export class ToolBuildError extends Error {
  constructor(tool: GoTool, reason: string, logFile?: string) {
    super(
      `Could not build ${tool.purpose}: ${reason}.` +
        (logFile ? ` The build output is in ${logFile}.` : '') +
        ` Fix the cause and run "npm run tools" again, or install ${tool.name} yourself and put it on PATH.`,
    );
    this.name = 'ToolBuildError';
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable on PATH. */
export async function findOnPath(
  name: string,
  pathVariable: string | undefined,
): Promise<string | undefined> {
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

export interface ToolLookup {
  toolsDir: string;
  /** An explicit binary (e.g. TEMPORAL_CLI); it must exist. */
  explicitPath?: string | undefined;
  pathVariable: string | undefined;
}

/** Finds a tool without building it: the explicit path, then PATH, then `<toolsDir>/bin`. */
export async function locateTool(tool: GoTool, lookup: ToolLookup): Promise<string | undefined> {
  if (lookup.explicitPath) {
    if (await isExecutable(lookup.explicitPath)) return lookup.explicitPath;
    throw new ToolBuildError(
      tool,
      `the configured binary ${lookup.explicitPath} does not exist or is not executable`,
    );
  }
  const onPath = await findOnPath(tool.name, lookup.pathVariable);
  if (onPath) return onPath;
  const built = path.join(lookup.toolsDir, 'bin', tool.name);
  return (await isExecutable(built)) ? built : undefined;
}

/**
 * Finds a tool, building it with `go install` when it is nowhere to be found. The build takes
 * minutes on a new machine, so progress (modules downloaded, packages compiled) is reported.
 */
export async function ensureTool(
  tool: GoTool,
  lookup: ToolLookup,
  report: (line: string) => void,
): Promise<string> {
  const found = await locateTool(tool, lookup);
  if (found) return found;
  return buildTool(tool, lookup, report);
}

async function buildTool(tool: GoTool, lookup: ToolLookup, report: (line: string) => void): Promise<string> {
  const go = await findOnPath('go', lookup.pathVariable);
  if (!go) throw new ToolBuildError(tool, 'the Go toolchain ("go") is not on PATH; install Go 1.22 or newer');
  const binDir = path.join(lookup.toolsDir, 'bin');
  const logDir = path.join(lookup.toolsDir, 'logs');
  await mkdir(binDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const logFile = path.join(logDir, `${tool.name}-build.log`);
  const log = createWriteStream(logFile);
  report(`Building ${tool.purpose} with go install ${tool.module} (a few minutes the first time)...`);
  const started = Date.now();
  // A binary go install names after its folder (`server`) lands in a folder of its own, beside
  // bin/ so the rename below stays on one filesystem.
  const installDir = tool.installedName
    ? await mkdtemp(path.join(lookup.toolsDir, `.build-${tool.name}-`))
    : binDir;
  const child = spawn(go, ['install', '-v', tool.module], {
    env: {
      ...process.env,
      GOBIN: installDir,
      GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let downloaded = 0;
  let compiled = 0;
  let lastLine = '';
  const lines = readline.createInterface({ input: child.stderr });
  lines.on('line', (line) => {
    log.write(`${line}\n`);
    lastLine = line;
    if (line.startsWith('go: downloading')) downloaded += 1;
    else if (!line.startsWith('go:') && !line.startsWith('#')) compiled += 1;
  });
  child.stdout.on('data', (chunk: Buffer) => log.write(chunk));
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    report(`  ${tool.name}: ${downloaded} modules downloaded, ${compiled} packages compiled (${seconds}s)`);
  }, 10_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0)
      throw new ToolBuildError(tool, `go install exited with code ${code} (${lastLine})`, logFile);
    if (tool.installedName) {
      const installed = path.join(installDir, tool.installedName);
      if (!(await isExecutable(installed)))
        throw new ToolBuildError(tool, `go install left no ${installed}`, logFile);
      await rename(installed, path.join(binDir, tool.name));
    }
  } finally {
    clearInterval(ticker);
    await new Promise<void>((resolve) => log.end(resolve));
    if (installDir !== binDir) await rm(installDir, { recursive: true, force: true });
  }
  const binary = path.join(binDir, tool.name);
  if (!(await isExecutable(binary))) throw new ToolBuildError(tool, `go install left no ${binary}`, logFile);
  report(`Built ${tool.name} in ${Math.round((Date.now() - started) / 1000)}s: ${binary}`);
  return binary;
}
