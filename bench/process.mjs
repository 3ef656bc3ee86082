// What the before/after benchmarks (hot-path.mjs, event-streams.mjs) share: starting a server
// process and reading its CPU time.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Starts a server process and resolves once it prints `listening on <url>`. */
export function startListening(args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /listening on (http:\/\/[^\s/]+)/.exec(out)
      if (match) resolve({ url: match[1], child })
    })
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)))
  })
}

/** User + system CPU of a process, in µs (clock ticks of 10 ms), from /proc (Linux). */
export function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}
