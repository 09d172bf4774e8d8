/**
 * Debian's Chromium, driven by playwright-core (which never downloads a browser of its own). A missing
 * browser is a failure that says how to install it, never a skipped test.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist: unset it, or run \`bash scripts/ensure-chromium.sh\``);
    return fromEnv;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (looked for ${CANDIDATES.join(', ')}; or set CHROMIUM_PATH): ` +
        'run `bash scripts/ensure-chromium.sh` (installs Debian\'s chromium package; .ci/run does it)',
    );
  }
  return found;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // --no-sandbox: tests run as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}
