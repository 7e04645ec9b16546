/**
 * Headless Chromium for the console's end-to-end test: Debian's `chromium` (apt-get install -y chromium),
 * driven by playwright-core (which downloads no browser of its own). `chromiumAvailable()` says whether it
 * is there; the test prints `CHROMIUM_MISSING` and skips when it is not. `consoleOrigin()` checks that the
 * platform serves the built console (`apps/console/dist`) at its own `/` and returns that origin.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { repoRoot } from './platform-process.js';

export const CHROMIUM_PATH = process.env.TENZRO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_MISSING = `Chromium not found at ${CHROMIUM_PATH}: install it with apt-get install -y chromium`;
export const CONSOLE_DIST = join(repoRoot, 'apps', 'console', 'dist');

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Collects every console error and uncaught page error of `page` into `problems`, labelled. */
export function watchPage(page: Page, label: string, problems: string[]): void {
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') {
      const where = message.location();
      problems.push(`[${label}] console error: ${message.text()}${where.url ? ` (${where.url}:${where.lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`[${label}] page error: ${error.stack ?? error.message}`));
}

/** The platform's own origin, once it is seen serving the console build at `/` (throws otherwise). */
export async function consoleOrigin(apiBaseUrl: string): Promise<{ origin: string; close: () => Promise<void> }> {
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
    throw new Error(`the console is not built (${CONSOLE_DIST}/index.html is missing): run npm run build`);
  }
  const reply = await fetch(`${apiBaseUrl}/`);
  const text = await reply.text();
  if (!reply.ok || !text.includes('<div id="root">')) throw new Error(`the platform at ${apiBaseUrl} does not serve the console at / (HTTP ${reply.status})`);
  return { origin: apiBaseUrl, close: async () => undefined };
}
