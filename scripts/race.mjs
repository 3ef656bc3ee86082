#!/usr/bin/env node
// The long variant of test/races.test.ts: many rounds of N concurrent refreshes with one token over
// real loopback sockets, each against a fresh server. Bounded by --rounds; run after `npm run build`.
//   node scripts/race.mjs [--rounds 50] [--concurrency 1000] [--reuse-grace 0s]
import { parseArgs } from 'node:util'
import { Agent, fetch } from 'undici'
import { resolveServerConfig } from '../dist/server/config.js'
import { startServer } from '../dist/server/start.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '1000' },
    'reuse-grace': { type: 'string', default: '0s' },
  },
})
const rounds = Number(values.rounds)
const concurrency = Number(values.concurrency)
const dispatcher = new Agent({ connections: concurrency })
const post = async (url, path, body) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

let failures = 0
const started = performance.now()
for (let round = 1; round <= rounds; round += 1) {
  const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', reuseGrace: values['reuse-grace'] }, {}))
  const { data } = (await post(server.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body
  const answers = await Promise.all(
    Array.from({ length: concurrency }, () => post(server.url, '/api/auth/refresh', { refresh_token: data.refresh_token })),
  )
  const rotated = server.lab.counters.snapshot().refresh.succeeded - server.lab.counters.snapshot().refresh.graceReuses
  const ok = rotated === 1 && answers.every((a) => a.status === 200 || a.status === 401)
  if (!ok) failures += 1
  console.log(`round ${round}: ${rotated} rotation(s), ${answers.filter((a) => a.status === 200).length} × 200 ${ok ? 'ok' : 'FAIL'}`)
  await server.close()
}
await dispatcher.close()
console.log(
  `${rounds} rounds of ${concurrency} concurrent refreshes in ${Math.round(performance.now() - started)} ms: ${rounds - failures} passed, ${failures} failed`,
)
process.exitCode = failures === 0 ? 0 : 1
