/**
 * Kerf supports Node 20 (the floor). The AWS SDK prints, once per process, that its 2027
 * releases will need Node 22: noise on every command and test. This drops that one notice and lets
 * every other warning through.
 */
export function dropAwsNodeVersionNotice(): void {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('NodeVersionSupportWarning')) return;
    (emitWarning as (warning: string | Error, ...rest: unknown[]) => void)(warning, ...rest);
  };
}
