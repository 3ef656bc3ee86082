import type { HttpBindings } from '@hono/node-server'
import type { Context, MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { setTimeout as sleep } from 'node:timers/promises'
import { wireCode } from '../../src/shared/profiles.js'
import { ROUTES } from '../../src/shared/wire.js'
import { faultKind } from '../faults.js'
import type { Lab } from '../lab.js'

/** Marks the placeholder response of a dropped connection, so the request counter files it as `dropped`. */
export const DROPPED_HEADER = 'x-refresh-lab-dropped'

/** Applies the fault set for this route, if any, before the route runs. */
export function injectFaults(lab: Lab): MiddlewareHandler {
  return async function injectFault(c, next) {
    if (c.req.path.startsWith('/_lab/')) return next()
    const fault = lab.faults.take(c.req.method, c.req.path)
    if (!fault) return next()
    const kind = faultKind(fault)
    lab.emit({ type: 'faultInjected', kind, route: `${c.req.method} ${c.req.path}`, fault })
    if (fault.delayMs !== undefined) {
      const epoch = lab.epoch
      await sleep(fault.delayMs)
      if (lab.epoch !== epoch) return abandoned(c) // the lab was reset meanwhile: this call belongs to the past
    }
    if (kind === 'delay') return next()
    if (fault.dropAfter) {
      // The route runs and its effects stand; only its answer is lost on the way back.
      await next()
      ;(c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.destroy()
      c.res = new Response(null, { status: 503, headers: { [DROPPED_HEADER]: '1' } })
      return
    }

    if (c.req.method === 'POST' && c.req.path === ROUTES.refresh) lab.emit({ type: 'refreshFaulted' })
    if (kind === 'drop') {
      // No answer at all: the client sees the connection close, as on a flaky mobile network.
      ;(c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.destroy()
      return c.body(null, 503, { [DROPPED_HEADER]: '1' })
    }
    const status = fault.status as ContentfulStatusCode
    // One of refresh-lab's own codes goes out as the server's profile would put it.
    const code = wireCode(lab.config.profile, fault.code ?? 'LAB_FAULT')
    return c.json({ error: { code, message: fault.message ?? `injected by the lab: status ${status}` } }, status)
  }
}

/** A request the lab gave up on because it was reset while the request waited. */
export function abandoned(c: Context): Response {
  ;(c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.destroy()
  return c.body(null, 503, { [DROPPED_HEADER]: '1' })
}
