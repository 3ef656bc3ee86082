import { execFileSync } from 'node:child_process'

/**
 * vitest global setup: `npm run build` once before any test, from a clean dist/ (the lab page's
 * script and HTML included), so the end-to-end tests spawn the CLI (and import the package by its
 * name) from the current sources, also when vitest is run directly.
 */
export default function build(): void {
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
}
