import type { Context, MiddlewareHandler, Next } from 'hono'
import { routePath } from 'hono/route'
import { setTimeout as sleep } from 'node:timers/promises'
import { DurationError, parseDuration } from '../../src/shared/duration.js'
import { LabError } from '../../src/shared/errors.js'
import type { Lab } from '../lab.js'
import { refusedAccess } from './bearer.js'
import { abandoned } from './inject-faults.js'
import { serialOf } from '../tokens.js'

/** The query parameter that delays one request's answer, e.g. `GET /api/users?_delay=300ms`. */
export const DELAY_PARAM = '_delay'
/**
 * The query parameter that holds a request bound for a 401 (its access token would be refused)
 * until its session has refreshed since that token was signed, before its `_delay`:
 * `GET /api/auth/me?_wait=refresh&_delay=400ms` answers its 401 400 ms after that refresh, however
 * long the refresh took to come (a loaded machine, a slow client), so a "late 401" is late. A
 * request that arrives after the refresh is not held; nor is its retry, with a valid token.
 */
export const WAIT_PARAM = '_wait'
const MAX_DELAY_MS = 30_000
/** How long `_wait=refresh` waits for a refresh that may never come (a client that does not refresh). */
export const MAX_WAIT_MS = 10_000

/**
 * Holds a request for the delay its URL asks for, so a test can make answers arrive staggered
 * (a 401 that lands after another request already refreshed) without a fault per request.
 */
export function requestDelay(lab: Lab): MiddlewareHandler {
  return function delayRequest(c, next) {
    // Almost every request asks for no delay: a look at the raw URL spares it parsing the query and
    // an async step (issue 14). A parameter name can only be spelled as itself or with an escape.
    const url = c.req.url
    const query = url.indexOf('?')
    if (query === -1 || (!url.includes(DELAY_PARAM, query) && !url.includes(WAIT_PARAM, query) && !url.includes('%', query))) return next()
    return delayIfAsked(lab, c, next)
  }
}

async function delayIfAsked(lab: Lab, c: Context, next: Next): Promise<Response | void> {
  const raw = c.req.query(DELAY_PARAM)
  const wait = c.req.query(WAIT_PARAM)
  // Only on a real route: an unknown path answers 404 at once, whatever it asks for.
  if ((raw !== undefined || wait !== undefined) && !c.req.path.startsWith('/_lab/') && !routePath(c, -1).endsWith('*')) {
    if (wait !== undefined && wait !== 'refresh') {
      throw new LabError('VALIDATION_ERROR', `query "${WAIT_PARAM}" must be "refresh"`, 400)
    }
    const delayMs = raw === undefined ? 0 : delayOf(raw)
    const epoch = lab.epoch
    const refused = wait === undefined ? undefined : await refusedAccess(lab, c.req.header('authorization'))
    if (refused) await lab.refreshedSince(refused.sid, serialOf(refused), MAX_WAIT_MS)
    if (delayMs > 0 && lab.epoch === epoch) await sleep(delayMs)
    if (lab.epoch !== epoch) return abandoned(c)
  }
  await next()
}

function delayOf(raw: string): number {
  let ms: number
  try {
    ms = parseDuration(raw)
  } catch (error) {
    if (error instanceof DurationError) throw new LabError('VALIDATION_ERROR', `query "${DELAY_PARAM}": ${error.message}`, 400)
    throw error
  }
  if (ms > MAX_DELAY_MS) throw new LabError('VALIDATION_ERROR', `query "${DELAY_PARAM}" must be at most 30s`, 400)
  return ms
}
