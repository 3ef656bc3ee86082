// What refresh-lab/verify costs a backend's test per verification, against jose's jwtVerify with
// the JWKS already fetched (docs/server.md, "Expiry your own backend can see"). After npm run build:
//   node scripts/verify-cost.mjs [verifications]
import { createLocalJWKSet, jwtVerify } from 'jose'
import { startLab } from '../dist/src/index.js'
import { createLabVerifier } from '../dist/src/verify.js'

const n = Number(process.argv[2] ?? 2000)
const lab = await startLab({ alg: 'ES256' })
try {
  const res = await fetch(`${lab.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: 'demo@example.com', password: 'password' }),
  })
  const { access_token: token } = await res.json()
  const jwks = createLocalJWKSet(await (await fetch(`${lab.url}/.well-known/jwks.json`)).json())
  const verifier = createLabVerifier({ url: lab.url })
  const time = async (label, verify) => {
    for (let i = 0; i < 100; i += 1) await verify() // warm up
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i += 1) await verify()
    const perCall = Number(process.hrtime.bigint() - start) / n / 1000
    console.log(`${label.padEnd(38)} ${perCall.toFixed(0).padStart(6)} µs a verification (${n} in a row)`)
  }
  await time('jose jwtVerify, real clock', () => jwtVerify(token, jwks, { audience: 'refresh-lab' }))
  await time('refresh-lab/verify, lab clock', () => verifier.verify(token))
  await time('refresh-lab/verify introspect', () => verifier.introspect(token))
} finally {
  await lab.stop()
}
