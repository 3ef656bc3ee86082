import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import { LAB_PAGE_ROUTES } from '../../src/shared/wire.js'

/**
 * Guards the lab control API with `Authorization: Bearer <lab token>`, compared in constant time.
 * The lab page's event stream cannot set headers (EventSource), so `?lab_token=` works too, on GET only.
 */
export function requireLabToken(token: string): MiddlewareHandler {
  const expected = createHash('sha256').update(token).digest()
  return async function labToken(c, next) {
    // The page's script holds no lab state, and a <script src> or import cannot carry the token.
    if (c.req.method === 'GET' && c.req.path.startsWith(LAB_PAGE_ROUTES.assets)) return next()
    const match = /^Bearer +(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    // The query form only for GET (the page and its stream): never for a call that changes the lab.
    const presented = match?.[1] ?? (c.req.method === 'GET' ? c.req.query('lab_token') : undefined)
    const given = createHash('sha256')
      .update(presented ?? '')
      .digest()
    if (presented === undefined || !timingSafeEqual(given, expected)) {
      throw new LabError('LAB_TOKEN_REQUIRED', 'the lab control API needs "Authorization: Bearer <lab token>" (--lab-token)')
    }
    await next()
  }
}
