import type { Context, MiddlewareHandler, Next } from 'hono'
import { routePath } from 'hono/route'
import { setTimeout as sleep } from 'node:timers/promises'
import { DurationError, parseDuration } from '../../src/shared/duration.js'
import { LabError } from '../../src/shared/errors.js'
import type { Lab } from '../lab.js'
import { abandoned } from './inject-faults.js'

/** The query parameter that delays one request's answer, e.g. `GET /api/users?_delay=300ms`. */
export const DELAY_PARAM = '_delay'
const MAX_DELAY_MS = 30_000

/**
 * Holds a request for the delay its URL asks for, so a test can make answers arrive staggered
 * (a 401 that lands after another request already refreshed) without a fault per request.
 */
export function requestDelay(lab: Lab): MiddlewareHandler {
  return function delayRequest(c, next) {
    // Almost every request asks for no delay: a look at the raw URL spares it parsing the query and
    // an async step (issue 14). A parameter name can only be spelled with `_delay` or an escape.
    const url = c.req.url
    const query = url.indexOf('?')
    if (query === -1 || (!url.includes(DELAY_PARAM, query) && !url.includes('%', query))) return next()
    return delayIfAsked(lab, c, next)
  }
}

async function delayIfAsked(lab: Lab, c: Context, next: Next): Promise<Response | void> {
  const raw = c.req.query(DELAY_PARAM)
  // Only on a real route: an unknown path answers 404 at once, whatever it asks for.
  if (raw !== undefined && !c.req.path.startsWith('/_lab/') && !routePath(c, -1).endsWith('*')) {
    const epoch = lab.epoch
    await sleep(delayOf(raw))
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
