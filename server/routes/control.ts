import type { Hono } from 'hono'
import { DurationError, parseDuration } from '../../src/shared/duration.js'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES, type LabClockState } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import { readJsonObject } from '../http/json-body.js'
import type { Lab } from '../lab.js'

/** The lab control API under `/_lab`: counters, the event log, reset and the virtual clock. */
export function registerControlRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  app.get(ROUTES.labStats, (c) => c.json(lab.counters.snapshot()))

  app.get(ROUTES.labEvents, (c) => {
    const after = queryInteger(c.req.query('after'), 'after', 0)
    const limit = queryInteger(c.req.query('limit'), 'limit', lab.config.eventLogSize)
    return c.json(lab.events.since(after, limit))
  })

  app.post(ROUTES.labReset, (c) => {
    lab.reset()
    lab.events.record({ type: 'reset' })
    return c.json({ reset: true })
  })

  app.get(ROUTES.labClock, (c) => c.json(clockState(lab)))

  app.post(ROUTES.labClock, async (c) => {
    const body = await readJsonObject(c, '{"advance":"35s"} or {"set":"2030-01-01T00:00:00Z"}')
    const { advance, set } = body
    if ((advance === undefined) === (set === undefined)) {
      throw new LabError('VALIDATION_ERROR', 'send exactly one of "advance" (a duration such as "35s") or "set" (an ISO time)')
    }
    try {
      if (advance !== undefined) {
        lab.clock.advance(durationField(advance, 'advance'))
      } else {
        const target = typeof set === 'string' || typeof set === 'number' ? new Date(set).getTime() : Number.NaN
        if (Number.isNaN(target)) throw new LabError('VALIDATION_ERROR', '"set" must be an ISO time or epoch milliseconds')
        lab.clock.set(target)
      }
    } catch (error) {
      if (error instanceof RangeError) throw new LabError('VALIDATION_ERROR', error.message)
      throw error
    }
    const state = clockState(lab)
    lab.events.record({ type: 'clock', detail: `clock now ${state.now} (offset ${state.offsetMs} ms)` })
    return c.json(state)
  })

  app.get(ROUTES.labConfig, (c) => c.json(lab.configView()))
}

function clockState(lab: Lab): LabClockState {
  const nowMs = lab.clock.now()
  return { now: new Date(nowMs).toISOString(), nowMs, offsetMs: lab.clock.offsetMs }
}

function durationField(value: unknown, field: string): number {
  if (typeof value !== 'string') throw new LabError('VALIDATION_ERROR', `"${field}" must be a duration string such as "35s"`)
  try {
    return parseDuration(value)
  } catch (error) {
    if (error instanceof DurationError) throw new LabError('VALIDATION_ERROR', `"${field}": ${error.message}`)
    throw error
  }
}

function queryInteger(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,15}$/.test(raw)) throw new LabError('VALIDATION_ERROR', `query "${name}" must be a non-negative integer`, 400)
  return Number(raw)
}
