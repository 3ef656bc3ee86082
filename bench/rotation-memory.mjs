// A server's memory under a long rotation loop (issue 14: "RSS of a server after 1.5 M rotations,
// ≤ 150 MB, flat"): one `refresh-lab serve` in its own process, 50 connections each spending a live
// refresh token and handing back the one it got, the server's RSS read from /proc at every step.
// `npm run bench` runs it as one of its rows; alone, after `npm run build` (about 3 minutes):
//   node bench/rotation-memory.mjs [--rotations 1500000] [--steps 6]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { startListening } from './process.mjs'
import { rotationLoop } from './rotation.mjs'

const bin = fileURLToPath(new URL('../bin/refresh-lab', import.meta.url))
const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

/**
 * Runs `rotations` rotations in `steps` equal steps; resolves with the RSS before and after each
 * step, and how many refresh answers were not a 200 (a lost token would stall its connection).
 */
export async function rotationMemory({ rotations, steps }) {
  const server = await startListening([bin, 'serve', '--port', '0', '--secret', 'bench-secret-bench-secret-bench-secret'])
  try {
    const tokens = []
    for (let i = 0; i < 50; i += 1) {
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
      })
      tokens.push((await login.json()).data.refresh_token)
    }
    const points = [{ rotations: 0, rssMb: Math.round(rssMb(server.child.pid)), failed: 0 }]
    let done = 0
    for (let step = 1; step <= steps; step += 1) {
      const amount = Math.round((rotations * step) / steps) - done
      const result = await autocannon({ url: server.url, connections: 50, amount, requests: rotationLoop(tokens) })
      done += amount
      points.push({ rotations: done, rssMb: Math.round(rssMb(server.child.pid)), failed: result.requests.sent - result['2xx'] })
    }
    return points
  } finally {
    server.child.kill('SIGTERM')
  }
}

/** Flat: after the first step (once the heap has grown to its working size), RSS grows by at most 10 MB. */
export const isFlat = (points) => points.length < 3 || (points.at(-1)?.rssMb ?? 0) - (points[1]?.rssMb ?? 0) <= 10

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rotations: { type: 'string', default: '1500000' }, steps: { type: 'string', default: '6' } } })
  const rotations = Number(values.rotations)
  const steps = Number(values.steps)
  if (!(rotations > 0 && steps > 0)) throw new Error('--rotations and --steps must be positive numbers')
  const points = await rotationMemory({ rotations, steps })
  console.log('| rotations | server RSS MB | refresh answers not 200 |\n| --- | --- | --- |')
  for (const point of points) console.log(`| ${point.rotations} | ${point.rssMb} | ${point.rotations === 0 ? '—' : point.failed} |`)
}
