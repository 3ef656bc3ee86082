#!/usr/bin/env node
// Soak: drives sign-in, authed requests, refreshes, expiries and sign-outs against a real
// `refresh-lab serve` child process for a set time, on loopback only, and reports throughput,
// errors, and the server's RSS after warm-up and at the end. Bounded by --duration (max 1h).
// The server runs with a V8 heap cap (--heap-mb, default 128): with Node's default cap V8 lets
// garbage pile up for minutes before collecting, which reads like a leak in RSS and is not one.
//   node scripts/soak.mjs [--duration 60s] [--users 20] [--heap-mb 128] [--json]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Agent, fetch } from 'undici'
import { parseDuration } from '../dist/src/shared/duration.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60s' },
    users: { type: 'string', default: '20' },
    'heap-mb': { type: 'string', default: '128' },
    json: { type: 'boolean', default: false },
  },
})
const heapMb = Number(values['heap-mb'])
const durationMs = Math.min(parseDuration(values.duration), 3_600_000)
const users = Math.max(1, Math.min(Number(values.users), 500))
const warmUpMs = Math.min(10_000, durationMs / 6)

const bin = fileURLToPath(new URL('../bin/refresh-lab', import.meta.url))
const server = spawn(
  process.execPath,
  [`--max-old-space-size=${heapMb}`, bin, 'serve', '--port', '0', '--access-ttl', '1m', '--secret', 'soak-secret-soak-secret-soak-secret'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const url = await new Promise((resolve, reject) => {
  let out = ''
  server.stdout.on('data', (chunk) => {
    out += chunk
    const match = /listening on (http:\/\/\S+)/.exec(out)
    if (match && out.includes('\nlab: ')) resolve(match[1])
  })
  server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)))
})
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

const dispatcher = new Agent({ connections: users + 4 })
const call = async (method, path, { token, body } = {}) => {
  const res = await fetch(`${url}${path}`, {
    method,
    dispatcher,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

const counts = { requests: 0, refreshes: 0, logins: 0, unexpected: 0 }
const deadline = performance.now() + durationMs
let stopping = false

async function virtualUser() {
  let tokens = null
  const signIn = async () => {
    const res = await call('POST', '/api/auth/login', { body: { email: 'demo@example.com', password: 'password' } })
    counts.requests += 1
    counts.logins += 1
    tokens = res.body.data
  }
  await signIn()
  for (let i = 0; !stopping && performance.now() < deadline; i += 1) {
    const res = await call('GET', i % 2 ? '/api/users' : '/api/auth/me', { token: tokens.access_token })
    counts.requests += 1
    if (res.status === 401) {
      // Expired by the clock the driver moves: refresh, as a client would; a refused refresh signs in again.
      const refreshed = await call('POST', '/api/auth/refresh', { body: { refresh_token: tokens.refresh_token } })
      counts.requests += 1
      counts.refreshes += 1
      if (refreshed.status === 200) tokens = refreshed.body.data
      else await signIn()
    } else if (res.status !== 200) {
      counts.unexpected += 1
    }
    if (i % 200 === 199) {
      // Sign out and in again: ended sessions pile up unless the server sweeps them.
      await call('POST', '/api/auth/logout', { token: tokens.access_token })
      counts.requests += 1
      await signIn()
    }
  }
}

// Moves the lab clock 10 minutes every 2 s: access tokens expire, and ended sessions come due for the sweep.
const clockDriver = (async () => {
  while (!stopping && performance.now() < deadline) {
    await sleep(2_000)
    await call('POST', '/_lab/clock', { body: { advance: '10m' } })
  }
})()

const started = performance.now()
const workers = Array.from({ length: users }, () => virtualUser())
await sleep(warmUpMs)
const rssAfterWarmUp = rssMb()
const samples = []
const sampler = setInterval(() => samples.push(rssMb()), 5_000)
await Promise.all(workers)
stopping = true
await clockDriver
clearInterval(sampler)
const elapsed = performance.now() - started
const rssAtEnd = rssMb()
const stats = (await call('GET', '/_lab/stats')).body
server.kill('SIGTERM')
await dispatcher.close()

const report = {
  durationS: Math.round(elapsed / 1000),
  users,
  heapCapMb: heapMb,
  requests: counts.requests,
  requestsPerSecond: Math.round(counts.requests / (elapsed / 1000)),
  refreshes: counts.refreshes,
  logins: counts.logins,
  unexpectedAnswers: counts.unexpected,
  server5xx: Object.values(stats.requests).reduce(
    (sum, byStatus) =>
      sum +
      Object.entries(byStatus)
        .filter(([s]) => s.startsWith('5'))
        .reduce((a, [, n]) => a + n, 0),
    0,
  ),
  rssMb: { afterWarmUp: Math.round(rssAfterWarmUp), max: Math.round(Math.max(rssAfterWarmUp, ...samples)), atEnd: Math.round(rssAtEnd) },
  storeAtEnd: stats.store,
}
if (values.json) console.log(JSON.stringify(report, null, 2))
else {
  console.log(
    `soak: ${report.durationS} s, ${users} users, server heap cap ${heapMb} MB, ${report.requests} requests (${report.requestsPerSecond}/s), ${report.refreshes} refreshes, ${report.logins} sign-ins`,
  )
  console.log(`errors: ${report.unexpectedAnswers} unexpected answers, ${report.server5xx} server 5xx`)
  console.log(
    `server RSS: ${report.rssMb.afterWarmUp} MB after warm-up, ${report.rssMb.max} MB at most, ${report.rssMb.atEnd} MB at the end; store at the end: ${report.storeAtEnd.families} sessions, ${report.storeAtEnd.tokens} tokens`,
  )
}
process.exitCode = report.unexpectedAnswers === 0 && report.server5xx === 0 ? 0 : 1
