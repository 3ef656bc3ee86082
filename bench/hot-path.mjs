#!/usr/bin/env node
// Server hot path, before and after a change: interleaved rounds of autocannon (50 connections)
// against a bare Hono server and one `refresh-lab serve` per built tree, server CPU per request read
// from /proc (Linux), which is far steadier than req/s on a shared machine.
//   node bench/hot-path.mjs [--rounds 3] [--seconds 3] [--kinds get,refresh] [name=dir ...]
// Each dir is a checkout with dist/ built (`npm run build`); the default is this one. Prints, per
// figure, the median and range of the ratio to bare Hono over the rounds, and the median CPU µs.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { cpuUs, startListening as start } from './process.mjs'
import { rotationLoop } from './rotation.mjs'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    kinds: { type: 'string', default: 'get,refresh' },
  },
})
const root = fileURLToPath(new URL('..', import.meta.url))
const connections = 50
const trees = positionals.length > 0 ? positionals.map((p) => p.split('=')) : [['this', root]]
const secret = 'bench-secret-bench-secret-bench-secret'

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return res.json()
}
const load = (options) =>
  new Promise((resolve, reject) =>
    autocannon({ connections, duration: Number(values.seconds), ...options }, (error, result) => (error ? reject(error) : resolve(result))),
  )
async function measure(server, options) {
  const before = cpuUs(server.child.pid)
  const result = await load(options)
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return { rps: result.requests.average, us: (cpuUs(server.child.pid) - before) / result.requests.total }
}
async function loadFor(kind, url) {
  const login = () => post(url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })
  if (kind === 'get') return { url: `${url}/api/users`, headers: { authorization: `Bearer ${(await login()).data.access_token}` } }
  // A rotation loop: each request spends a live refresh token from the queue and puts back the one it got.
  const tokens = []
  for (let i = 0; i < connections; i += 1) tokens.push((await login()).data.refresh_token)
  return {
    url,
    requests: rotationLoop(tokens),
  }
}

const bare = await start([`${root}bench/servers/bare-hono.mjs`])
const labs = []
for (const [name, dir] of trees)
  labs.push({ name, ...(await start([`${dir}/bin/refresh-lab`, 'serve', '--port', '0', '--secret', secret])) })
const figures = new Map()
const add = (key, value) => figures.set(key, [...(figures.get(key) ?? []), value])
await load({ url: `${bare.url}/json`, duration: 1 }) // warm-up
for (let round = 0; round < Number(values.rounds); round += 1) {
  const baseline = await measure(bare, { url: `${bare.url}/json` })
  add('bare Hono', { ...baseline, ratio: 1 })
  for (const kind of values.kinds.split(',')) {
    for (const lab of labs) {
      const m = await measure(lab, await loadFor(kind, lab.url))
      add(`${kind} ${lab.name}`, { ...m, ratio: m.rps / baseline.rps })
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log('| figure | req/s | CPU µs/request | vs bare Hono (median, range) |\n| --- | --- | --- | --- |')
for (const [key, list] of figures) {
  const ratios = list.map((f) => f.ratio)
  console.log(
    `| ${key} | ${Math.round(median(list.map((f) => f.rps)))} | ${median(list.map((f) => f.us)).toFixed(1)} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`,
  )
}
for (const server of [bare, ...labs]) server.child.kill('SIGTERM')
