/**
 * Debian's chromium for the admin page's browser test and docs/admin-page.png, launched
 * headless with the flags this machine needs: without the background-networking ones,
 * chromium keeps opening connections the closed network refuses.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
