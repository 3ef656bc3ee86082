import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'

/**
 * vitest global setup: compile once before any test, from a clean dist/, so the end-to-end tests
 * spawn the CLI (and import the package by its name) from the current sources, also when vitest is
 * run directly.
 */
export default function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  rmSync('dist', { recursive: true, force: true })
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
}
