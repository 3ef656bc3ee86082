import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveServerConfig } from '../server/config.js'
import { startServer, type RunningServer } from '../server/start.js'
import { ROUTES } from '../src/shared/wire.js'
import { lab } from './support/app.js'

/**
 * Random bodies, headers and paths, for a bounded number of runs: never a 5xx, always a JSON answer
 * with an error in it for a 4xx, and the server keeps answering.
 */
const knownPaths = Object.values(ROUTES)
const path = fc.oneof(
  fc.constantFrom(...knownPaths),
  fc.constantFrom(...knownPaths).chain((p) => fc.string({ maxLength: 20 }).map((tail) => `${p}${encodeURI(tail)}`)),
  fc.webPath(),
)
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc
    .record({ email: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), password: fc.oneof(fc.string(), fc.boolean()) })
    .map((o) => JSON.stringify(o)),
  fc.record({ refresh_token: fc.oneof(fc.string(), fc.integer()) }).map((o) => JSON.stringify(o)),
  fc
    .record({ grant_type: fc.constantFrom('password', 'refresh_token', 'x'), refresh_token: fc.string() })
    .map((o) => new URLSearchParams(o).toString()),
)
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/)
const headers = fc.record(
  {
    authorization: fc.oneof(
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
    ),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', ''),
  },
  { requiredKeys: [] },
)

/** The browser-facing OAuth routes answer a refusal with a page that names the error, never a redirect. */
const PAGE_ROUTES: readonly string[] = [ROUTES.oauthAuthorize, ROUTES.oauthLogout]

function isEnvelope(status: number, text: string, res?: Response, path?: string): boolean {
  if (status < 400) return true
  if (PAGE_ROUTES.some((route) => path?.startsWith(route)) && res?.headers.get('content-type')?.startsWith('text/html')) {
    return text.includes('Sign-in refused') && res.headers.get('location') === null
  }
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    return typeof parsed.error === 'string' || (typeof parsed.error === 'object' && parsed.error !== null)
  } catch {
    return false
  }
}

describe('fuzzing the app', () => {
  it('answers 400 random requests in-process without a 5xx, always in the envelope', async () => {
    const { app } = lab({ secret: 'fuzz-secret-fuzz-secret-fuzz-secret' })
    await fc.assert(
      fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
        const res = await app.request(p, { method: m, headers: h, ...(b === undefined || m === 'GET' ? {} : { body: b }) })
        const text = await res.text()
        expect(res.status).toBeLessThan(500)
        expect(isEnvelope(res.status, text, res, p)).toBe(true)
      }),
      { numRuns: 400, seed: 20261126 },
    )
  })

  describe('over a real socket', () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
    })
    afterAll(async () => {
      await server.close()
    })

    it('answers 150 random requests without a 5xx, and stays up', async () => {
      await fc.assert(
        fc.asyncProperty(method, path, headers, body, async (m, p, h, b) => {
          const res = await fetch(`${server.url}${p.startsWith('/') ? p : `/${p}`}`, {
            method: m,
            headers: h,
            ...(b === undefined || m === 'GET' ? {} : { body: b }),
          })
          const text = await res.text()
          expect(res.status).toBeLessThan(500)
          expect(isEnvelope(res.status, text, res, p)).toBe(true)
        }),
        { numRuns: 150, seed: 42 },
      )
      expect((await fetch(`${server.url}/_lab/stats`)).status).toBe(200)
    })
  })
})
