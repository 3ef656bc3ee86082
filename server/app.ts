import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { routePath } from 'hono/route'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { LabError } from '../src/shared/errors.js'
import { ROUTES } from '../src/shared/wire.js'
import type { ServerConfig } from './config.js'
import type { LabDomainEvent } from './domain-events.js'
import type { AuthedEnv } from './http/bearer.js'
import { BODY_LIMIT_BYTES, payloadTooLarge } from './http/json-body.js'
import { injectFaults, isDropped } from './http/inject-faults.js'
import { BEARER_CODES, bearerChallenge, isOAuthPath, NO_STORE, OAuthError, oauthAnswer } from './http/oauth-errors.js'
import { guardLabOrigin, isLabPath } from './http/lab-origin.js'
import { requireLabToken } from './http/lab-token.js'
import { requestDelay } from './http/request-delay.js'
import { createLab, type Lab } from './lab.js'
import { wireProfile } from './wire-profiles.js'
import { registerAuthRoutes } from './routes/auth.js'
import { registerControlRoutes } from './routes/control.js'
import { registerLabPage } from './routes/lab-page.js'
import { registerOAuthRoutes } from './routes/oauth.js'
import { registerAuthorizeRoutes } from './routes/authorize.js'
import { registerResourceRoutes } from './routes/resources.js'
import { registerSupabaseRoutes } from './routes/supabase.js'

export interface LabApp {
  app: Hono<AuthedEnv>
  lab: Lab
}

/**
 * Builds the Hono app and its lab state. It never listens: tests call `app.request()`, and
 * `start.ts` puts it on a socket.
 */
/** Milliseconds to the microsecond: enough to order calls, short in JSON. */
const round = (ms: number) => Math.round(ms * 1000) / 1000

export function createApp(config: ServerConfig): LabApp {
  const lab = createLab(config)
  const app = new Hono<AuthedEnv>()

  app.use('*', async function countRequests(c, next) {
    const epoch = lab.epoch
    const startMs = performance.now()
    await next()
    // Lab calls are not the client's traffic, and a request from before a reset is not this test's.
    if (c.req.path.startsWith('/_lab/') || lab.epoch !== epoch) return lab.settled()?.then(() => undefined)
    const matched = routePath(c, -1)
    // Unknown paths share one bucket, so a scanner cannot grow the counters without bound.
    const route = matched.endsWith('*') ? 'unmatched' : `${c.req.method} ${matched}`
    const answered = c.res.status
    const claims = c.get('claims')
    const family = claims?.sid ?? unverifiedSessionOf(c.req.header('authorization'))
    // Built field by field rather than by spreads: this runs for every request (issue 14).
    const event: Extract<LabDomainEvent, { type: 'requestHandled' }> = {
      type: 'requestHandled',
      route,
      status: isDropped(c) ? 'dropped' : answered,
      startMs: round(startMs),
      endMs: round(performance.now()),
    }
    if (answered >= 400 && c.error instanceof LabError) event.code = c.error.code
    if (claims) event.user = claims.sub
    if (family) event.family = family
    lab.emit(event)
    // With a Redis store: answered once its counts and log entries are in, so any instance read next sees them.
    const shared = lab.settled()
    if (shared) await shared
  })

  if (config.corsOrigins.length > 0) {
    const allowCors = cors({
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      // supabase-js sends its key, its version and the API version it speaks on every call.
      allowHeaders: ['authorization', 'content-type', 'apikey', 'x-client-info', 'x-supabase-api-version'],
      // As GoTrue does: supabase-js reads the error body's shape from this header, which a page
      // of another origin cannot see unless it is exposed.
      exposeHeaders: ['x-supabase-api-version'],
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      maxAge: 600,
    })
    // --cors is for the app under test; the lab API is only ever called by its own page (same
    // origin), curl or the harness, so no origin is let into it (docs/server.md).
    app.use('*', function corsOutsideLab(c, next) {
      return isLabPath(c.req.path) ? next() : allowCors(c, next)
    })
  }
  // The name --host binds (when it is a name) is one the user chose to be reached by.
  app.use('/_lab/*', guardLabOrigin([...config.allowedHosts, config.host.toLowerCase()]))
  if (config.labToken !== undefined) app.use('/_lab/*', requireLabToken(config.labToken))

  const limitBody = bodyLimit({
    maxSize: BODY_LIMIT_BYTES,
    onError: () => {
      throw payloadTooLarge()
    },
  })
  // On a socket, a declared length over the limit is refused at once, and readBodyText enforces
  // the limit on what really arrives. Hono's bodyLimit is kept for app.request(), without a socket:
  // on a socket it would build a full Request object per call (@hono/node-server makes them lazily).
  app.use('*', function limitBodies(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    if (!(c.env as { incoming?: unknown } | undefined)?.incoming) return limitBody(c, next)
    if (Number(c.req.header('content-length') ?? 0) > BODY_LIMIT_BYTES) throw payloadTooLarge()
    return next()
  })

  app.use('*', requestDelay(lab))
  app.use('*', injectFaults(lab))

  registerAuthRoutes(app, lab)
  registerResourceRoutes(app, lab)
  registerOAuthRoutes(app, lab)
  registerAuthorizeRoutes(app, lab)
  if (config.profile === 'supabase') registerSupabaseRoutes(app, lab)
  registerControlRoutes(app, lab)
  registerLabPage(app, lab)

  // A known path with the wrong method gets 405 rather than a misleading 404.
  for (const path of Object.values(ROUTES)) {
    app.all(path, (c) => {
      throw new LabError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${path}`)
    })
  }

  app.notFound((c) => {
    const error = new LabError('ROUTE_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)
    if (isOAuthPath(c.req.path)) return c.json(oauthAnswer(error).body, 404, NO_STORE)
    return c.json(error.toEnvelope(), 404)
  })

  const profile = wireProfile(config.profile)
  app.onError(function toEnvelope(thrown, c) {
    let error = thrown
    if (error instanceof HTTPException && error.status < 500) {
      const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_ERROR'
      const message = error.message || 'the request could not be read'
      if (!isOAuthPath(c.req.path)) return c.json({ error: { code, message } }, error.status)
      error = new LabError(code, message, error.status as 400)
    }
    if (error instanceof OAuthError) {
      return c.json({ error: error.error, error_description: error.description }, error.status as ContentfulStatusCode, NO_STORE)
    }
    if (error instanceof LabError) {
      // RFC 6750 §3: a protected resource's 401 names the scheme and, for a bad token, the error.
      if (BEARER_CODES.has(error.code)) c.header('www-authenticate', bearerChallenge(error))
      // The OAuth face answers OAuth's own error bodies, whatever the wire profile (RFC 6749 §5.2).
      if (isOAuthPath(c.req.path)) {
        const answer = oauthAnswer(error)
        return c.json(answer.body, answer.status as ContentfulStatusCode, NO_STORE)
      }
      const answer = profile.error(error)
      return c.json(answer.body, answer.status as ContentfulStatusCode)
    }
    // A bug of ours, not the client's: log it here, never leak it into the response.
    console.error(error)
    const internal = new LabError('INTERNAL_ERROR', 'unexpected server error; see the server log')
    if (isOAuthPath(c.req.path)) return c.json(oauthAnswer(internal).body, 500)
    return c.json(internal.toEnvelope(), 500)
  })

  return { app, lab }
}

/**
 * The session an access token names, read without verifying it: only for drawing an expired
 * token's 401 in its session's lane of the lab page, never for deciding anything.
 */
function unverifiedSessionOf(header: string | undefined): string | undefined {
  const payload = /^Bearer +[^.\s]+\.([^.\s]+)\.[^.\s]+\s*$/i.exec(header ?? '')?.[1]
  if (payload === undefined || payload.length > 4_000) return undefined
  try {
    const sid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid?: unknown }).sid
    return typeof sid === 'string' && sid.length <= 64 ? sid : undefined
  } catch {
    return undefined
  }
}
