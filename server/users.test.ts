import { describe, expect, it } from 'vitest'
import type { UserAccount } from './config.js'
import { DomainEvents, type LabDomainEvent } from './domain-events.js'
import { UserRegistry } from './users.js'

const demo: UserAccount = { id: 'usr_1', email: 'demo@example.com', password: 'password', name: 'demo' }

function registry() {
  const seen: LabDomainEvent[] = []
  const events = new DomainEvents()
  events.subscribe((event) => seen.push(event))
  return { users: new UserRegistry([demo], events, { maxUsers: 10_000 }), seen }
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

describe('the maxUsers limit', () => {
  it('refuses a registration once the lab holds maxUsers users, configured ones included, and follows the live setting', () => {
    const events = new DomainEvents()
    const limit = { maxUsers: 2 }
    const users = new UserRegistry([demo], events, limit)
    users.add('ada@example.com', 'secret-secret')
    expect(() => users.add('bob@example.com', 'secret-secret')).toThrow(
      expect.objectContaining({ code: 'USER_LIMIT_REACHED', status: 507 }),
    )
    expect(users.list()).toHaveLength(2)
    limit.maxUsers = 3
    expect(users.add('bob@example.com', 'secret-secret').id).toBe('usr_3')
  })
})
