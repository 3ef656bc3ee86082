import { describe, expect, it } from 'vitest'
import { FaultTable, faultKind } from './faults.js'

describe('FaultTable', () => {
  it('affects exactly the next N matching calls, oldest fault first', () => {
    const table = new FaultTable()
    table.add({ path: '/api/auth/refresh', method: 'POST', times: 2, drop: true })
    table.add({ path: '/api/auth/refresh', times: 1, status: 503 })
    expect(table.take('GET', '/api/users')).toBeUndefined()
    expect(table.take('GET', '/api/auth/refresh')?.status).toBe(503) // the first fault is POST-only
    expect(table.take('POST', '/api/auth/refresh')?.drop).toBe(true)
    expect(table.take('POST', '/api/auth/refresh')?.drop).toBe(true)
    expect(table.take('POST', '/api/auth/refresh')).toBeUndefined()
    expect(table.list()).toEqual([])
  })

  it('names its kind', () => {
    expect(faultKind({ path: '/', times: 1, delayMs: 5 })).toBe('delay')
    expect(faultKind({ path: '/', times: 1, delayMs: 5, status: 503 })).toBe('status')
    expect(faultKind({ path: '/', times: 1, drop: true })).toBe('drop')
  })
})
