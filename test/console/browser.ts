/**
 * Headless Chromium for the console's browser tests: Debian's package (apt-get install chromium), driven
 * by playwright-core over CDP. Nothing is ever downloaded: CHROMIUM_PATH, else the usual install paths.
 * Without a Chromium the tests fail with how to install it: a browser test that cannot run is not a pass.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startConsole, type RunningConsole } from '../../tools/console/server.ts';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const chromiumPath: string | undefined = CANDIDATES.find((path): path is string => Boolean(path) && existsSync(path!));

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumPath) throw new Error('No Chromium: apt-get install -y chromium (Debian), or set CHROMIUM_PATH');
  // playwright-core adds --headless and a fresh --user-data-dir (a temporary profile) itself.
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ConsoleSession {
  console: RunningConsole;
  browser: Browser;
  page: Page;
  /** Errors the page logged or threw: a test ends by expecting none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** The console over `outputs`, and a page on it (1280×900). */
export async function openConsole(outputs: Record<string, string>, options: { allowActions?: boolean } = {}): Promise<ConsoleSession> {
  const running = await startConsole({ outputs, port: 0, allowActions: options.allowActions });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(running.url);
  return {
    console: running,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close().catch(() => undefined);
      await running.close();
    },
  };
}
