import { existsSync } from 'node:fs'

/**
 * Where the browser tests find Chromium: `CHROMIUM_PATH`, then the usual Linux and macOS install
 * paths. Without one they are skipped with a note, unless `REFRESH_LAB_REQUIRE_BROWSER=1` (which
 * `.ci/run` sets after installing Debian's chromium), where a missing browser is a failure.
 */
const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
]

export function findChromium(): string | undefined {
  const given = process.env['CHROMIUM_PATH']
  if (given !== undefined && given !== '') return given
  return CANDIDATES.find((path) => existsSync(path))
}

export const BROWSER_REQUIRED = process.env['REFRESH_LAB_REQUIRE_BROWSER'] === '1'

export const NO_BROWSER_NOTE =
  'browser tests skipped: no Chromium found (set CHROMIUM_PATH, or install chromium; .ci/run does and runs them)'
