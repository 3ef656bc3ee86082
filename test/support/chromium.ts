import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { describe } from 'vitest'

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

const CHROMIUM = findChromium()
if (CHROMIUM === undefined && !BROWSER_REQUIRED) console.warn(NO_BROWSER_NOTE)

/** `describe` when a Chromium is there or required (then a missing one fails), else `describe.skip`. */
export const describeWithBrowser: ReturnType<typeof describe.skipIf> = describe.skipIf(CHROMIUM === undefined && !BROWSER_REQUIRED)

/**
 * Debian's Chromium, headless, as this machine's closed network needs it: without the
 * background-networking flags it keeps trying Google's hosts and gets refused.
 */
export function launchChromium(): Promise<Browser> {
  if (CHROMIUM === undefined || !existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM ?? 'any usual path'}: install Debian's chromium package (.ci/run does)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
