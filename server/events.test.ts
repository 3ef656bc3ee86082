import { describe, expect, it } from 'vitest'
import { EventLog } from './events.js'

const clock = { now: () => Date.UTC(2026, 0, 1) }

describe('EventLog', () => {
  it('numbers events from 1 and stamps them with the lab clock', () => {
    const log = new EventLog(10, clock)
    log.record({ type: 'login', user: 'usr_1' })
    log.record({ type: 'refresh', status: 200 })
    const page = log.since()
    expect(page.events.map((e) => [e.id, e.type, e.at])).toEqual([
      [1, 'login', '2026-01-01T00:00:00.000Z'],
      [2, 'refresh', '2026-01-01T00:00:00.000Z'],
    ])
    expect(page).toMatchObject({ lastId: 2, dropped: 0 })
    expect(log.since(1).events.map((e) => e.id)).toEqual([2])
  })

  it('keeps only the newest events and says how many a reader missed', () => {
    const log = new EventLog(3, clock)
    for (let i = 0; i < 7; i += 1) log.record({ type: 'request', detail: String(i) })
    const page = log.since(0)
    expect(page.events.map((e) => e.id)).toEqual([5, 6, 7])
    expect(page).toMatchObject({ lastId: 7, dropped: 4 })
    expect(log.since(5)).toMatchObject({ dropped: 0, events: [{ id: 6 }, { id: 7 }] })
  })

  it('honours a limit, and empties on clear while ids keep counting', () => {
    const log = new EventLog(5, clock)
    for (let i = 0; i < 4; i += 1) log.record({ type: 'request' })
    expect(log.since(0, 2).events.map((e) => e.id)).toEqual([1, 2])
    log.clear()
    expect(log.since()).toEqual({ events: [], lastId: 4, dropped: 0 })
    expect(log.record({ type: 'reset' }).id).toBe(5)
    expect(log.since(2).events.map((e) => e.id)).toEqual([5])
  })

  it('answers a cursor from before a restart (past the end) with everything there is', () => {
    const log = new EventLog(5, clock)
    log.record({ type: 'login' })
    expect(log.since(500).events.map((e) => e.id)).toEqual([1])
  })
})
