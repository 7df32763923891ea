// Headless Chromium for the end-to-end tests (Debian's /usr/bin/chromium, or CHROMIUM_PATH),
// driven by playwright-core, shut off from everything but loopback.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** PORTCULLIS_SKIP_BROWSER=1: where no browser can run, the browser tests are skipped. */
export const SKIP_BROWSER = process.env.PORTCULLIS_SKIP_BROWSER === '1';

/** Launches Chromium; a missing binary is an error that says how to install it. `what` names the test. */
export function launchChromium(what: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}, so ${what} cannot run. ` +
        'Install it (as root): apt-get update && apt-get install -y --no-install-recommends chromium ' +
        '(or point CHROMIUM_PATH at a Chromium binary). To skip this file instead, set PORTCULLIS_SKIP_BROWSER=1.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', // needed when running as root
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Any hostname but 127.0.0.1 fails to resolve: the page cannot reach the internet.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
}
