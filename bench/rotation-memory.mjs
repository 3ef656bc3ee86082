// A server's memory under a long rotation loop (issue 14: "RSS of a server after 1.5 M rotations,
// ≤ 150 MB, flat"): one `refresh-lab serve` in its own process, 50 connections each spending a live
// refresh token and handing back the one it got, the server's RSS read from /proc at every step.
// Too long for `npm run bench` (about 3 to 5 minutes for 1.5 M on 2 cores); run after `npm run build`:
//   node bench/rotation-memory.mjs [--rotations 1500000] [--steps 6]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { startListening } from './process.mjs'
import { rotationLoop } from './rotation.mjs'

const { values } = parseArgs({ options: { rotations: { type: 'string', default: '1500000' }, steps: { type: 'string', default: '6' } } })
const rotations = Number(values.rotations)
const steps = Number(values.steps)
if (!(rotations > 0 && steps > 0)) throw new Error('--rotations and --steps must be positive numbers')

const bin = fileURLToPath(new URL('../bin/refresh-lab', import.meta.url))
const rssMb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
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
  console.log('| rotations | server RSS MB | refresh answers not 200 |\n| --- | --- | --- |')
  console.log(`| 0 | ${rssMb(server.child.pid).toFixed(0)} | — |`)
  let done = 0
  for (let step = 1; step <= steps; step += 1) {
    const amount = Math.round((rotations * step) / steps) - done
    const result = await autocannon({ url: server.url, connections: 50, amount, requests: rotationLoop(tokens) })
    done += amount
    const failed = result.requests.sent - result['2xx']
    console.log(`| ${done} | ${rssMb(server.child.pid).toFixed(0)} | ${failed} |`)
  }
} finally {
  server.child.kill('SIGTERM')
}
