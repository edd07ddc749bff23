/**
 * Browser pieces for the end-to-end tests: Debian's Chromium driven by playwright-core, and
 * screenshots of each step kept in `test-results/e2e/` as the run's artifacts.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { repoRoot } from '../../platform/paths';

/** Where the screenshots go (git-ignored). */
export const screenshotDir = path.join(repoRoot, 'test-results', 'e2e');

/**
 * Launches headless Chromium from the system package (`apt-get install chromium`) rather than a
 * browser playwright downloads: the tests run where the shop's machines run.
 *
 * @param executablePath @default `KERF_CHROMIUM` or `/usr/bin/chromium`
 */
export async function launchChromium(
  executablePath = process.env.KERF_CHROMIUM ?? '/usr/bin/chromium',
): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    // No sandbox: containers and CI runners rarely allow its namespaces. No background networking:
    // the test talks to the local stack only, and a browser phoning home makes timings noisy.
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Numbered screenshots of one test's steps: `<prefix>-01-<step>.png`, `<prefix>-02-<step>.png`, ... */
export interface Screenshots {
  /** Takes the whole page (or one element) and returns the file's path. */
  take(page: Page, step: string, options?: { fullPage?: boolean; element?: Locator }): Promise<string>;
  /** The files taken so far, in order. */
  readonly taken: readonly string[];
}

export async function screenshots(prefix: string): Promise<Screenshots> {
  await mkdir(screenshotDir, { recursive: true });
  const taken: string[] = [];
  return {
    taken,
    async take(page, step, options = {}) {
      const file = path.join(
        screenshotDir,
        `${prefix}-${String(taken.length + 1).padStart(2, '0')}-${step.replace(/[^a-z0-9-]+/gi, '-')}.png`,
      );
      if (options.element) await options.element.screenshot({ path: file });
      else await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
      taken.push(file);
      return file;
    },
  };
}

/** Milliseconds each named step took, for the test's log. */
export function stepTimer(): { lap(step: string): number; readonly laps: Record<string, number> } {
  let last = Date.now();
  const laps: Record<string, number> = {};
  return {
    laps,
    lap(step) {
      const now = Date.now();
      const took = now - last;
      laps[step] = took;
      last = now;
      return took;
    },
  };
}

/*
 * The Temporal Web UI (2.4x) as a person uses it. Its workflow page renders the header twice (one
 * for narrow screens, hidden), so every locator keeps the visible one.
 */

/** The status badge in the workflow page's header (`Running`, `Completed`, ...). */
export function workflowStatusBadge(page: Page, status: string): Locator {
  return page
    .locator('span.rounded-sm')
    .filter({ hasText: new RegExp(`^\\s*${status}\\s*$`) })
    .filter({ visible: true })
    .first();
}

/**
 * Sends a Signal from the open workflow page: "More Actions" → "Send a Signal", the signal's name,
 * its JSON input (as a person types it) in the code editor (json/plain encoding), Submit. Resolves once the dialog closed.
 *
 * @param onDialogFilled called with the filled dialog before it is submitted (a screenshot, say)
 */
export async function sendSignalInTemporalUi(
  page: Page,
  signalName: string,
  inputJson: string,
  onDialogFilled?: (dialog: Locator) => Promise<void>,
): Promise<void> {
  await page.getByRole('button', { name: 'More Actions' }).filter({ visible: true }).first().click();
  await page.getByTestId('signal-button').filter({ visible: true }).first().click();
  const dialog = page.getByTestId('signal-confirmation-modal').filter({ visible: true });
  await dialog.waitFor();
  await chooseSignalName(dialog, signalName);
  // CodeMirror closes brackets as they are typed: insert the JSON in one go instead of key by key.
  const editor = dialog.locator('.cm-content[contenteditable="true"]');
  await editor.click();
  await page.keyboard.insertText(inputJson);
  const typed = await editor.innerText();
  if (typed.trim() !== inputJson.trim()) {
    throw new Error(`the signal input editor holds ${typed}, not ${inputJson}`);
  }
  await dialog.locator('input[type="radio"][value="json/plain"]').check();
  await onDialogFilled?.(dialog);
  const submit = dialog.getByRole('button', { name: 'Submit' });
  await submit.click();
  // The UI reformats the JSON when the editor loses focus; a click that only moved the focus
  // leaves the dialog open, so a second click sends it (the first sent nothing).
  await dialog.waitFor({ state: 'hidden', timeout: 3000 }).catch(() => submit.click());
  await dialog.waitFor({ state: 'hidden' });
}

/**
 * The signal's name: a free text field (`signal-name`) while no worker answers, or, when one answers
 * the workflow's metadata query (`__temporal_workflow_metadata`, listing the signals the workflow
 * defines), a select (`signal-select-button`) of those signals and "Custom".
 */
async function chooseSignalName(dialog: Locator, signalName: string): Promise<void> {
  const field = dialog.getByTestId('signal-name');
  const select = dialog.getByTestId('signal-select-button');
  await field.or(select).first().waitFor();
  if (await field.isVisible()) {
    await field.fill(signalName);
    return;
  }
  await select.click();
  await dialog.getByRole('option', { name: signalName, exact: true }).click();
  const chosen = await dialog.getByTestId('signal-select').inputValue();
  if (chosen !== signalName)
    throw new Error(`the signal select shows ${JSON.stringify(chosen)}, not ${signalName}`);
}
