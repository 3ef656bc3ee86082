#!/usr/bin/env node
// Live event streams, before and after a change: server CPU per authed GET with no stream open and
// with 64 open and read (the default --max-event-streams), autocannon at 50 connections, CPU read
// from /proc (Linux). Each round starts a fresh `serve` per tree, in turn.
//   node bench/event-streams.mjs [--rounds 3] [--seconds 3] [name=dir ...]
// Each dir is a checkout with dist/ built (`npm run build`); the default is this one.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { cpuUs, startListening } from './process.mjs'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' } },
})
const root = fileURLToPath(new URL('..', import.meta.url))
const trees = positionals.length > 0 ? positionals.map((p) => p.split('=')) : [['this', root]]
const STREAMS = 64

const serve = (dir) =>
  startListening([`${dir}/bin/refresh-lab`, 'serve', '--port', '0', '--secret', 'bench-secret-bench-secret-bench-secret'])
async function measure(server, options) {
  const before = cpuUs(server.child.pid)
  const result = await new Promise((resolve, reject) => autocannon(options, (error, r) => (error ? reject(error) : resolve(r))))
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return { rps: result.requests.average, us: (cpuUs(server.child.pid) - before) / result.requests.total }
}

const rows = new Map()
for (let round = 0; round < Number(values.rounds); round += 1) {
  for (const [name, dir] of trees) {
    const server = await serve(dir)
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
    })
    const { data } = await login.json()
    const options = {
      url: `${server.url}/api/users`,
      connections: 50,
      duration: Number(values.seconds),
      headers: { authorization: `Bearer ${data.access_token}` },
    }
    await measure(server, { ...options, duration: 1 }) // warm-up
    const none = await measure(server, options)
    const abort = new AbortController()
    const streams = await Promise.all(
      Array.from({ length: STREAMS }, () => fetch(`${server.url}/_lab/events/stream`, { signal: abort.signal })),
    )
    const reading = streams.map(async (res) => {
      try {
        for await (const _ of res.body) {
          // drained, as an open lab page reads them
        }
      } catch {
        // aborted at the end
      }
    })
    const open = await measure(server, options)
    abort.abort()
    await Promise.allSettled(reading)
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
    const row = rows.get(name) ?? []
    row.push({ none, open })
    rows.set(name, row)
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(
  `| tree | CPU µs per authed GET, no stream | with ${STREAMS} streams | req/s with streams ÷ without (median, range) |\n| --- | --- | --- | --- |`,
)
for (const [name, row] of rows) {
  const ratios = row.map((r) => r.open.rps / r.none.rps)
  console.log(
    `| ${name} | ${median(row.map((r) => r.none.us)).toFixed(0)} | ${median(row.map((r) => r.open.us)).toFixed(0)} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`,
  )
}
