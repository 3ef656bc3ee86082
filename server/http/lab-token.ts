import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { LabError } from '../../src/shared/errors.js'

/** Guards the lab control API with `Authorization: Bearer <lab token>`, compared in constant time. */
export function requireLabToken(token: string): MiddlewareHandler {
  const expected = createHash('sha256').update(token).digest()
  return async function labToken(c, next) {
    const match = /^Bearer +(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    const given = createHash('sha256').update(match?.[1] ?? '').digest()
    if (!match || !timingSafeEqual(given, expected)) {
      throw new LabError('LAB_TOKEN_REQUIRED', 'the lab control API needs "Authorization: Bearer <lab token>" (--lab-token)')
    }
    await next()
  }
}
