import type { Hono } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES, type LabClockState, type LabSession } from '../../src/shared/wire.js'
import type { FaultSpec } from '../faults.js'
import type { AuthedEnv } from '../http/bearer.js'
import { readJson, readJsonObject } from '../http/json-body.js'
import { LabFields } from '../http/lab-fields.js'
import type { Lab, SessionScope } from '../lab.js'

const MAX_FAULT_DELAY_MS = 60_000

/**
 * The lab control API under `/_lab`: counters, the event log, reset, the virtual clock, live
 * settings, faults, revocation and early expiry.
 */
export function registerControlRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  app.get(ROUTES.labStats, (c) => c.json({ ...lab.counters.snapshot(), store: lab.store.size }))

  app.get(ROUTES.labEvents, (c) => {
    const after = queryInteger(c.req.query('after'), 'after', 0)
    const limit = queryInteger(c.req.query('limit'), 'limit', lab.config.eventLogSize)
    return c.json(lab.events.since(after, limit))
  })

  app.post(ROUTES.labReset, (c) => {
    lab.reset()
    return c.json({ reset: true })
  })

  app.get(ROUTES.labClock, (c) => c.json(clockState({ nowMs: lab.clock.now(), offsetMs: lab.clock.offsetMs })))

  app.post(ROUTES.labClock, async (c) => {
    const fields = new LabFields(await readJsonObject(c, '{"advance":"35s"} or {"set":"2030-01-01T00:00:00Z"}'), ['advance', 'set'])
    if (fields.has('advance') === fields.has('set')) {
      throw new LabError('VALIDATION_ERROR', 'send exactly one of "advance" (a duration such as "35s") or "set" (an ISO time)')
    }
    const advance = fields.duration('advance')
    const move = advance !== undefined ? { advanceMs: advance } : { toMs: fields.time('set') as number }
    try {
      return c.json(clockState(lab.moveClock(move)))
    } catch (error) {
      if (error instanceof RangeError) throw new LabError('VALIDATION_ERROR', error.message)
      throw error
    }
  })

  app.get(ROUTES.labConfig, (c) => c.json(lab.configView()))

  app.post(ROUTES.labConfig, async (c) => {
    const fields = new LabFields(await readJsonObject(c, '{"accessTtl":"30s","reuseGrace":"2s"}'), ['accessTtl', 'refreshTtl', 'sessionTtl', 'reuseGrace', 'reuseGraceCount', 'graceReturns', 'statelessAccess'])
    const accessTtlMs = fields.duration('accessTtl', { min: 1 })
    const refreshTtlMs = fields.duration('refreshTtl', { min: 1 })
    const sessionTtlMs = fields.duration('sessionTtl', { min: 1 })
    const reuseGraceMs = fields.duration('reuseGrace', { min: 0 })
    const reuseGraceCount = fields.integer('reuseGraceCount', 0, 999_999)
    const graceReturns = fields.choice('graceReturns', ['existing', 'new'] as const)
    const statelessAccess = fields.boolean('statelessAccess')
    if (statelessAccess !== undefined) lab.settings.statelessAccess = statelessAccess
    if (reuseGraceCount !== undefined) lab.settings.reuseGraceCount = reuseGraceCount
    if (graceReturns !== undefined) lab.settings.graceReturns = graceReturns
    if (accessTtlMs !== undefined) lab.settings.accessTtlMs = accessTtlMs
    if (refreshTtlMs !== undefined) lab.settings.refreshTtlMs = refreshTtlMs
    if (sessionTtlMs !== undefined) lab.settings.sessionTtlMs = sessionTtlMs
    if (reuseGraceMs !== undefined) lab.settings.reuseGraceMs = reuseGraceMs
    const view = lab.configView()
    lab.emit({ type: 'configChanged', config: view })
    return c.json(view)
  })

  app.get(ROUTES.labSessions, (c) => {
    const family = c.req.query('family')
    const families = family === undefined ? lab.store.families() : lab.familiesIn({ family })
    const sessions: LabSession[] = families.map((f) => ({
      id: f.id,
      user: lab.users.byId(f.userId)?.email ?? f.userId,
      status: f.status,
      generation: f.generation,
      createdAt: new Date(f.createdAt).toISOString(),
      expiresAt: new Date(f.expiresAt).toISOString(),
      ...(f.revokedAt === undefined ? {} : { revokedAt: new Date(f.revokedAt).toISOString() }),
      ...(f.revokedReason === undefined ? {} : { revokedReason: f.revokedReason }),
    }))
    return c.json({ sessions })
  })

  app.get(ROUTES.labFaults, (c) => c.json({ faults: lab.faults.list() }))

  app.post(ROUTES.labFaults, async (c) => {
    const example = '{"path":"/api/auth/refresh","drop":true,"times":1}'
    const fields = new LabFields(await readJsonObject(c, example), ['path', 'method', 'times', 'delay', 'status', 'code', 'message', 'drop', 'dropAfter'])
    const path = fields.string('path', 2_000)
    if (path === undefined || !path.startsWith('/')) throw new LabError('VALIDATION_ERROR', '"path" is required and must start with "/"')
    if (path.startsWith('/_lab')) throw new LabError('VALIDATION_ERROR', 'faults cannot be set on the lab control API itself')
    const spec: FaultSpec = { path, times: fields.integer('times', 1, 1_000_000) ?? 1 }
    const method = fields.string('method', 16)
    const delayMs = fields.duration('delay', { max: MAX_FAULT_DELAY_MS })
    const status = fields.integer('status', 400, 599)
    const code = fields.string('code', 64)
    const message = fields.string('message')
    const drop = fields.boolean('drop')
    if (method !== undefined) spec.method = method.toUpperCase()
    if (delayMs !== undefined) spec.delayMs = delayMs
    if (status !== undefined) spec.status = status
    if (code !== undefined) spec.code = code
    if (message !== undefined) spec.message = message
    const dropAfter = fields.boolean('dropAfter')
    if (drop === true) spec.drop = true
    if (dropAfter === true) spec.dropAfter = true
    if (spec.delayMs === undefined && spec.status === undefined && !spec.drop && !spec.dropAfter) {
      throw new LabError('VALIDATION_ERROR', 'a fault needs "delay", "status", "drop": true or "dropAfter": true')
    }
    if ((spec.drop || spec.dropAfter) && spec.status !== undefined) throw new LabError('VALIDATION_ERROR', 'a fault either answers a "status" or drops the connection, not both')
    if (spec.drop && spec.dropAfter) throw new LabError('VALIDATION_ERROR', 'a fault drops the connection before the route runs ("drop") or after it ("dropAfter"), not both')
    if ((code !== undefined || message !== undefined) && status === undefined) {
      throw new LabError('VALIDATION_ERROR', '"code" and "message" go with "status"')
    }
    const fault = lab.setFault(spec)
    return c.json({ fault }, 201)
  })

  app.delete(ROUTES.labFaults, (c) => {
    const cleared = lab.faults.list().length
    lab.faults.clear()
    return c.json({ cleared })
  })

  app.post(ROUTES.labRevoke, async (c) => {
    const scope = sessionScope(lab, await readJson(c), [])
    const revoked = lab.revokeSessions(scope)
    return c.json({ revoked })
  })

  app.post(ROUTES.labExpire, async (c) => {
    const body = await readJson(c)
    const scope = sessionScope(lab, body, ['tokens'])
    const which = new LabFields(asObject(body), ['tokens', 'user', 'family']).choice('tokens', ['access', 'refresh', 'both'] as const) ?? 'access'
    const expired = lab.expire(scope, which)
    return c.json({ tokens: which, sessions: expired.access, refreshTokens: expired.refresh })
  })
}

function clockState({ nowMs, offsetMs }: { nowMs: number; offsetMs: number }): LabClockState {
  return { now: new Date(nowMs).toISOString(), nowMs, offsetMs }
}

/**
 * `{}` (or no body) means every session; `{"user":"a@b.c"}` or `{"family":"fam_…"}` narrows it.
 * A user or family the lab does not know is a 404: a typo must not look like "nothing to do".
 */
function sessionScope(lab: Lab, body: unknown, extraFields: readonly string[]): SessionScope {
  const fields = new LabFields(asObject(body), ['user', 'family', ...extraFields])
  const user = fields.string('user', 320)
  const family = fields.string('family', 100)
  if (user !== undefined && family !== undefined) throw new LabError('VALIDATION_ERROR', 'give "user" or "family", not both')
  if (user !== undefined && !lab.users.find(user)) throw new LabError('NOT_FOUND', `no user ${user}`)
  if (family !== undefined && !lab.store.family(family)) throw new LabError('NOT_FOUND', `no session ${family}`)
  return { ...(user === undefined ? {} : { user }), ...(family === undefined ? {} : { family }) }
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {}
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LabError('VALIDATION_ERROR', 'the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

function queryInteger(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,15}$/.test(raw)) throw new LabError('VALIDATION_ERROR', `query "${name}" must be a non-negative integer`, 400)
  return Number(raw)
}
