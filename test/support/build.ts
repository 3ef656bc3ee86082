import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

/**
 * vitest global setup: compile once before any test, so the end-to-end tests spawn the CLI from
 * the current sources and not from a stale dist/ (also when vitest is run directly).
 */
export default function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
}
