import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * vitest global setup: the build once before any test, from a clean dist/ (the lab page's script
 * and HTML, and the CLI's bundle, included), so the end-to-end tests spawn the CLI (and import the
 * package by its name) from the current sources, also when vitest is run directly. tsc only emits
 * here: `npm test` type-checks first, and vitest never does.
 */
export default function build(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url)), '--no-check'], { stdio: 'inherit' })
}
