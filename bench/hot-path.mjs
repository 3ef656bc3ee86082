#!/usr/bin/env node
// Server hot path, before and after a change: interleaved rounds of autocannon (50 connections)
// against a bare Hono server and one `refresh-lab serve` per built tree, server CPU per request read
// from /proc (Linux), which is far steadier than req/s on a shared machine. `npm run bench` runs the
// same rounds for this tree alone, for its targets' medians and ranges.
//   node bench/hot-path.mjs [--rounds 3] [--seconds 3] [--kinds get,refresh] [name=dir ...]
// Each dir is a checkout with dist/ built (`npm run build`); the default is this one. Prints, per
// figure, the median and range of the ratio to bare Hono over the rounds, and the median CPU µs.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { cpuUs, startListening as start } from './process.mjs'
import { rotationLoop } from './rotation.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const connections = 50
const secret = 'bench-secret-bench-secret-bench-secret'

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return res.json()
}
const load = (options) =>
  new Promise((resolve, reject) => autocannon({ connections, ...options }, (error, result) => (error ? reject(error) : resolve(result))))
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

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Rounds of bare Hono, then each kind on each tree, `seconds` each; resolves with every figure's
 * measurements, keyed `bare Hono` and `<kind> <tree>`, each with req/s, CPU µs and its ratio to
 * the bare server of its own round.
 */
export async function interleavedRounds({ trees = [['this', root]], rounds = 3, seconds = 3, kinds = ['get', 'refresh'] } = {}) {
  const bare = await start([`${root}bench/servers/bare-hono.mjs`])
  const labs = []
  try {
    for (const [name, dir] of trees)
      labs.push({ name, ...(await start([`${dir}/bin/refresh-lab`, 'serve', '--port', '0', '--secret', secret])) })
    const figures = new Map()
    const add = (key, value) => figures.set(key, [...(figures.get(key) ?? []), value])
    // Warm-up: the first seconds of a process run cold code, which would count against round one.
    await load({ url: `${bare.url}/json`, duration: 1 })
    for (const lab of labs) await load({ ...(await loadFor('get', lab.url)), duration: 1 })
    for (let round = 0; round < rounds; round += 1) {
      const baseline = await measure(bare, { url: `${bare.url}/json`, duration: seconds })
      add('bare Hono', { ...baseline, ratio: 1 })
      for (const kind of kinds) {
        for (const lab of labs) {
          const m = await measure(lab, { ...(await loadFor(kind, lab.url)), duration: seconds })
          add(`${kind} ${lab.name}`, { ...m, ratio: m.rps / baseline.rps })
        }
      }
    }
    return figures
  } finally {
    for (const server of [bare, ...labs]) server.child.kill('SIGTERM')
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '3' },
      kinds: { type: 'string', default: 'get,refresh' },
    },
  })
  const figures = await interleavedRounds({
    ...(positionals.length > 0 ? { trees: positionals.map((p) => p.split('=')) } : {}),
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    kinds: values.kinds.split(','),
  })
  console.log('| figure | req/s | CPU µs/request | vs bare Hono (median, range) |\n| --- | --- | --- | --- |')
  for (const [key, list] of figures) {
    const ratios = list.map((f) => f.ratio)
    console.log(
      `| ${key} | ${Math.round(median(list.map((f) => f.rps)))} | ${median(list.map((f) => f.us)).toFixed(1)} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`,
    )
  }
}
