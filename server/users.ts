import { LabError } from '../src/shared/errors.js'
import type { UserAccount } from './config.js'
import type { DomainEvents } from './domain-events.js'

/**
 * The lab's users: the configured ones, then those who registered since the last reset. A
 * registration is a `userRegistered` event, which `--data-dir` journals.
 */
export class UserRegistry {
  readonly #byEmail = new Map<string, UserAccount>()
  readonly #byId = new Map<string, UserAccount>()

  constructor(
    private readonly startupUsers: readonly UserAccount[],
    private readonly events: DomainEvents,
    /** The live `maxUsers` setting: registrations stop there, so a registration loop cannot exhaust memory. */
    private readonly limit: { readonly maxUsers: number },
    /** A registered user's id; instances sharing a Redis store draw random ones, so two never collide. */
    private readonly newId: (registry: UserRegistry) => string = (registry) => `usr_${registry.#byId.size + 1}`,
  ) {
    this.reset()
  }

  find(email: string): UserAccount | undefined {
    return this.#byEmail.get(email.toLowerCase())
  }

  byId(id: string): UserAccount | undefined {
    return this.#byId.get(id)
  }

  /** Every user: the configured ones, then those who registered since the last reset. */
  list(): UserAccount[] {
    return [...this.#byId.values()]
  }

  /** Those who registered, not configured: what a data dir keeps. */
  registered(): UserAccount[] {
    return this.list().filter((user) => !this.startupUsers.includes(user))
  }

  /** Registers a user; refuses an email already taken. */
  add(email: string, password: string, name?: string): UserAccount {
    if (this.find(email)) throw new LabError('EMAIL_TAKEN', `a user with the email ${email} already exists`)
    if (this.#byId.size >= this.limit.maxUsers) {
      throw new LabError(
        'USER_LIMIT_REACHED',
        `the lab holds ${this.limit.maxUsers} users already (--max-users); POST /_lab/reset forgets the registered ones`,
      )
    }
    const id = this.newId(this)
    const user = this.restore(Object.freeze({ id, email, password, name: name ?? email.split('@')[0] ?? email }))
    this.events.emit({ type: 'userRegistered', user })
    return user
  }

  /** Puts back a user a data dir kept, without announcing it again. */
  restore(user: UserAccount): UserAccount {
    this.#byEmail.set(user.email.toLowerCase(), user)
    this.#byId.set(user.id, user)
    return user
  }

  /** Back to the configured users only. */
  reset(): void {
    this.#byEmail.clear()
    this.#byId.clear()
    for (const user of this.startupUsers) this.restore(user)
  }
}
