import { describe, expect, it } from 'vitest'
import type { UserAccount } from './config.js'
import { DomainEvents, type LabDomainEvent } from './domain-events.js'
import { UserRegistry } from './users.js'

const demo: UserAccount = { id: 'usr_1', email: 'demo@example.com', password: 'password', name: 'demo' }

function registry() {
  const seen: LabDomainEvent[] = []
  const events = new DomainEvents()
  events.subscribe((event) => seen.push(event))
  return { users: new UserRegistry([demo], events), seen }
}

describe('UserRegistry', () => {
  it('finds users by email whatever its case, and by id', () => {
    const { users } = registry()
    expect(users.find('DEMO@example.com')).toBe(demo)
    expect(users.byId('usr_1')).toBe(demo)
    expect(users.find('nobody@example.com')).toBeUndefined()
  })

  it('announces a registration once, so the journal can keep it, and refuses an email already taken', () => {
    const { users, seen } = registry()
    const ada = users.add('ada@example.com', 'secret-secret')
    expect(ada).toEqual({ id: 'usr_2', email: 'ada@example.com', password: 'secret-secret', name: 'ada' })
    expect(seen).toEqual([{ type: 'userRegistered', user: ada }])
    expect(() => users.add('Ada@Example.com', 'other-password')).toThrow(expect.objectContaining({ code: 'EMAIL_TAKEN' }))
    expect(seen).toHaveLength(1)
    expect(users.list()).toEqual([demo, ada])
    expect(users.registered()).toEqual([ada])
  })

  it('restores a kept user without announcing it, and forgets registrations at a reset', () => {
    const { users, seen } = registry()
    users.restore({ id: 'usr_2', email: 'ada@example.com', password: 'p', name: 'Ada' })
    expect(users.find('ada@example.com')?.name).toBe('Ada')
    expect(seen).toEqual([])
    users.reset()
    expect(users.list()).toEqual([demo])
  })
})
