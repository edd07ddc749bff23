/**
 * What every bench suite shares: the JSON line of one case (rounded figures, the process's peak
 * memory) and running one case when its script is started directly (`bench/run.ts` does that, one
 * process per case, so each case's peak memory is its own).
 */

/** A case's result: one JSON line. */
export type CaseLine = Record<string, unknown>;

/** `value` rounded to `digits` decimals, for the JSON line. */
export const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The process's peak resident memory so far, in MB. */
export const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/**
 * When `script` (`ml.ts`) is the script node runs, with a case name after it: runs that case and
 * prints its JSON line, or the error and exit code 1.
 */
export function runCaseWhenStarted(script: string, runCase: (name: string) => Promise<CaseLine>): void {
  const name = process.argv[2];
  if (!process.argv[1]?.endsWith(script) || !name) return;
  runCase(name)
    .then((result) => console.log(JSON.stringify(result)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
