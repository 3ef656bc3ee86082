import type { Hono } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import type { z } from 'zod'
import { checkBody } from '../../src/shared/checks.js'
import { clockRequest, expireRequest, faultRequest, revokeRequest } from '../../src/shared/lab-requests.js'
import { liveSettingsSchema, livePatch } from '../../src/shared/settings.js'
import { ROUTES, type LabClockState, type LabSession } from '../../src/shared/wire.js'
import type { FaultSpec } from '../faults.js'
import type { AuthedEnv } from '../http/bearer.js'
import { readJson, readJsonObject } from '../http/json-body.js'
import type { Lab, SessionScope } from '../lab.js'

/**
 * The lab control API under `/_lab`: counters, the event log, reset, the virtual clock, live
 * settings, faults, revocation and early expiry.
 */
export function registerControlRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  app.get(ROUTES.labStats, async (c) => c.json({ ...(await lab.stats()), store: await lab.store.counts() }))

  app.get(ROUTES.labEvents, async (c) => {
    const after = queryInteger(c.req.query('after'), 'after', 0)
    const limit = queryInteger(c.req.query('limit'), 'limit', lab.config.eventLogSize)
    return c.json(await lab.events.since(after, limit))
  })

  app.post(ROUTES.labReset, async (c) => {
    await lab.reset()
    return c.json({ reset: true })
  })

  app.get(ROUTES.labClock, (c) => c.json(clockState({ nowMs: lab.clock.now(), offsetMs: lab.clock.offsetMs })))

  app.post(ROUTES.labClock, async (c) => {
    const { advance, set } = labBody(clockRequest, await readJsonObject(c, '{"advance":"35s"} or {"set":"2030-01-01T00:00:00Z"}'))
    const move = advance !== undefined ? { advanceMs: advance } : { toMs: set as number }
    try {
      return c.json(clockState(lab.moveClock(move)))
    } catch (error) {
      if (error instanceof RangeError) throw new LabError('VALIDATION_ERROR', error.message)
      throw error
    }
  })

  app.get(ROUTES.labConfig, (c) => c.json(lab.configView()))

  app.post(ROUTES.labConfig, async (c) => {
    const patch = livePatch(labBody(liveSettingsSchema, await readJsonObject(c, '{"accessTtl":"30s","reuseGrace":"2s"}')))
    return c.json(await lab.configure(patch))
  })

  app.get(ROUTES.labSessions, async (c) => {
    const family = c.req.query('family')
    const families = await (family === undefined ? lab.store.families() : lab.familiesIn({ family }))
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
    const { path, method, times, delay, status, code, message, drop, dropAfter } = labBody(faultRequest, await readJsonObject(c, example))
    const spec: FaultSpec = {
      path,
      times: times ?? 1,
      ...(method === undefined ? {} : { method: method.toUpperCase() }),
      ...(delay === undefined ? {} : { delayMs: delay }),
      ...(status === undefined ? {} : { status }),
      ...(code === undefined ? {} : { code }),
      ...(message === undefined ? {} : { message }),
      ...(drop === true ? { drop } : {}),
      ...(dropAfter === true ? { dropAfter } : {}),
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
    const scope = await knownScope(lab, labBody(revokeRequest, await readJson(c)))
    const revoked = await lab.revokeSessions(scope)
    return c.json({ revoked })
  })

  app.post(ROUTES.labExpire, async (c) => {
    const { tokens: which, ...asked } = labBody(expireRequest, await readJson(c))
    const scope = await knownScope(lab, asked)
    const expired = await lab.expire(scope, which)
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
async function knownScope(lab: Lab, { user, family }: { user?: string | undefined; family?: string | undefined }): Promise<SessionScope> {
  if (user !== undefined && !lab.users.find(user)) throw new LabError('NOT_FOUND', `no user ${user}`)
  if (family !== undefined && !(await lab.store.family(family))) throw new LabError('NOT_FOUND', `no session ${family}`)
  return { ...(user === undefined ? {} : { user }), ...(family === undefined ? {} : { family }) }
}

/** A lab request body checked by its schema (src/shared/lab-requests.ts); a bad one is a 422 naming the field. */
function labBody<S extends z.ZodObject>(schema: S, body: unknown): z.output<S> {
  const checked = checkBody(schema, body)
  if (!checked.ok) throw new LabError('VALIDATION_ERROR', checked.complaint)
  return checked.value
}

function queryInteger(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,15}$/.test(raw)) throw new LabError('VALIDATION_ERROR', `query "${name}" must be a non-negative integer`, 400)
  return Number(raw)
}
