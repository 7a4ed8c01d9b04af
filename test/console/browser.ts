/**
 * Headless Chromium for the console's browser tests: Debian's chromium driven by playwright-core
 * (never `playwright install`), started with the flags this offline machine needs, a fresh
 * profile per launch, and one browser context per identity with its client certificate.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { Test } from 'tap';
import type { TestPki } from '../helpers/pki.js';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = process.env.KEYLINE_CHROMIUM ?? '/usr/bin/chromium';

/** The reason to skip, or false when Chromium is there. */
export const noChromium: string | false = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (scripts/setup installs Debian's chromium)`;

/** Starts Chromium for the test; closed at teardown. */
export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --headless comes from `headless: true`, and playwright gives each launch a fresh, empty
    // --user-data-dir of its own (it refuses one in args); the rest keep Chromium off the closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** The identities the dev ceremony writes. */
export type Identity = 'operator' | 'officer' | 'auditor' | 'station';

/** A browser context presenting `who`'s client certificate to the server at `apiUrl`. */
export async function contextAs(t: Test, browser: Browser, pki: TestPki, apiUrl: string, who: Identity, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const files = {
    operator: [pki.operatorCertPath, pki.operatorKeyPath],
    officer: [pki.officerCertPath, pki.officerKeyPath],
    auditor: [pki.auditorCertPath, pki.auditorKeyPath],
    station: [pki.stationCertPath, pki.stationKeyPath],
  }[who] as [string, string];
  const context = await browser.newContext({
    viewport,
    // The server's certificate chains to the dev root, which this throw-away profile does not trust.
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: new URL(apiUrl).origin, certPath: files[0], keyPath: files[1] }],
  });
  t.teardown(() => context.close());
  return context;
}
