// `npm run build`: dist/ from a clean start. tsc compiles server/ and src/ (the library, with its
// types) and the lab page's script, the page's HTML is copied beside it, then the CLI is bundled
// (bundle-cli.mjs). With --no-check tsc only emits, in about half the time: the tests' global setup
// builds that way, since `npm test` has just type-checked everything.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

process.chdir(fileURLToPath(new URL('..', import.meta.url)))
const noCheck = process.argv.includes('--no-check') ? ['--noCheck'] : []
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync('dist', { recursive: true, force: true })
// The two projects share nothing: compile them side by side, and fail once both have stopped.
const compiled = await Promise.allSettled(
  ['tsconfig.build.json', 'server/lab-page/tsconfig.json'].map((project) => run(tsc, ['-p', project, ...noCheck])),
)
const failed = compiled.find((result) => result.status === 'rejected')
if (failed) throw failed.reason
mkdirSync('dist/server/lab-page', { recursive: true })
copyFileSync('server/lab-page/index.html', 'dist/server/lab-page/index.html')
await import('./bundle-cli.mjs')

function run(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc ${args.join(' ')} exited with ${code}`))))
  })
}
