import type { HttpBindings } from '@hono/node-server'
import type { Context, MiddlewareHandler, Next } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { setTimeout as sleep } from 'node:timers/promises'
import { grantTypeOf, wireCode } from '../../src/shared/profiles.js'
import { ROUTES, SUPABASE_ROUTES } from '../../src/shared/wire.js'
import { type Fault, faultKind } from '../faults.js'
import { goTrueErrorResponse } from './gotrue-error.js'
import { readBodyText } from './json-body.js'
import { isOAuthPath, NO_STORE, oauthFaultBody } from './oauth-errors.js'
import type { Lab } from '../lab.js'

/** Marks the placeholder response of a dropped connection (kept for anyone reading it off the response). */
export const DROPPED_HEADER = 'x-refresh-lab-dropped'

/**
 * The requests whose connection the lab dropped, so the request counter files them as `dropped`
 * without reading the header back: `c.res.headers` on every answer builds a full Headers and puts
 * @hono/node-server on its slower path (issue 14).
 */
const droppedRequests = new WeakSet<Context>()

/** True when the lab dropped this request's connection. */
export function isDropped(c: Context): boolean {
  return droppedRequests.has(c)
}

function dropped(c: Context): Response {
  ;(c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.destroy()
  droppedRequests.add(c)
  return c.body(null, 503, { [DROPPED_HEADER]: '1' })
}

/** Applies the fault set for this route, if any, before the route runs. */
export function injectFaults(lab: Lab): MiddlewareHandler {
  return function injectFault(c, next) {
    // Nothing armed, the usual case: no lookup and no async step (issue 14).
    if (!lab.faults.armed || c.req.path.startsWith('/_lab/')) return next()
    const fault = lab.faults.take(c.req.method, c.req.path)
    if (!fault) return next()
    return applyFault(lab, c, next, fault)
  }
}

async function applyFault(lab: Lab, c: Context, next: Next, fault: Fault): Promise<Response | void> {
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
    droppedRequests.add(c)
    c.res = new Response(null, { status: 503, headers: { [DROPPED_HEADER]: '1' } })
    return
  }

  if (c.req.method === 'POST' && (await isRefreshCall(c))) lab.emit({ type: 'refreshFaulted' })
  if (kind === 'drop') {
    // No answer at all: the client sees the connection close, as on a flaky mobile network.
    return dropped(c)
  }
  const status = fault.status as ContentfulStatusCode
  const message = fault.message ?? `injected by the lab: status ${status}`
  // GoTrue's routes answer in GoTrue's shape, with the fault's code as GoTrue's error code.
  if (lab.config.profile === 'supabase' && c.req.path.startsWith('/auth/v1/')) {
    return goTrueErrorResponse(c, status, fault.code ?? 'lab_fault', message)
  }
  // The OAuth face answers OAuth error bodies for every failure, an injected one included (docs/server.md).
  if (isOAuthPath(c.req.path)) return c.json(oauthFaultBody(status, fault.code, message), status, NO_STORE)
  // One of refresh-lab's own codes goes out as the server's profile would put it.
  const code = wireCode(lab.config.profile, fault.code ?? 'LAB_FAULT')
  return c.json({ error: { code, message } }, status)
}

/** A request the lab gave up on because it was reset while the request waited. */
export function abandoned(c: Context): Response {
  return dropped(c)
}

/**
 * A refresh, whichever face it came through: counted as one even when a fault answers it. The
 * OAuth token endpoint says so in its body, read here only for a call a fault answers (the route
 * never runs), as a form or as JSON.
 */
async function isRefreshCall(c: Context): Promise<boolean> {
  if (c.req.path === ROUTES.refresh) return true
  if (c.req.path === SUPABASE_ROUTES.token) return c.req.query('grant_type') === 'refresh_token'
  if (c.req.path !== ROUTES.oauthToken) return false
  // Within the body limit, as the route itself would read it.
  const body = await readBodyText(c).catch(() => '')
  return grantTypeOf(body) === 'refresh_token'
}
