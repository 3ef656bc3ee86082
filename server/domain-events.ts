import type { LabConfigView } from '../src/shared/wire.js'
import type { UserAccount } from './config.js'
import type { Fault, FaultKind } from './faults.js'
import type { RevokeReason } from './store.js'

/** Which sessions a lab action (revoke, expire) applies to; everything when empty. */
export interface SessionScope {
  /** A user's email. */
  user?: string
  /** A family (session) id, the `sid` of its access tokens. */
  family?: string
}

/** A session as an event names it: its user, its id and the generation concerned. */
export interface SessionRef {
  user: string
  family: string
  generation: number
}

/** Access tokens up to serial `through` count as expired: of one family, or of all when `family` is absent. */
export interface ExpiryMark {
  family?: string
  through: number
}

/**
 * What happened in the lab, one event per domain change. Lab actions make the change and emit the
 * event; the counters, the event log and the `--data-dir` journal subscribe (docs/design.md, "A
 * refresh, event by event").
 */
export type LabDomainEvent =
  | { type: 'signedIn'; user: string; family: string }
  | { type: 'userRegistered'; user: UserAccount }
  /** A refresh answered with tokens; `graceOf` is the replayed generation when it was a grace reuse. */
  | ({ type: 'refreshed'; graceOf?: number } & SessionRef)
  /**
   * A refresh refused by the store (`session` when the token was known), or before the store for a
   * request that carried no readable refresh token (`malformed`: counted, not logged).
   */
  | { type: 'refreshRejected'; code: string; session?: SessionRef; malformed?: true }
  /** A rotated token replayed outside the grace: the refresh is refused and its family revoked. */
  /** `ageAtLeast`: the replayed token's record was forgotten, so `sinceRotationMs` is a lower bound. */
  | ({ type: 'reuseDetected'; code: 'REFRESH_TOKEN_REUSED'; sinceRotationMs: number; ageAtLeast?: true } & SessionRef)
  | { type: 'familyRevoked'; family: string; reason: RevokeReason }
  /** A session signed out: `POST /api/auth/logout`, or a token revoked at `/oauth/revoke`. */
  | { type: 'signedOut'; family: string; user?: string; via: 'logout' | 'revocation' }
  | { type: 'sessionsRevoked'; count: number; scope: SessionScope }
  | { type: 'tokensExpired'; tokens: 'access' | 'refresh' | 'both'; scope: SessionScope; marks: ExpiryMark[] }
  | { type: 'clockMoved'; now: number; offsetMs: number }
  | { type: 'configChanged'; config: LabConfigView }
  | { type: 'faultSet'; fault: Fault }
  /** A fault took effect on a call: `route` is `METHOD /path`. */
  | { type: 'faultInjected'; kind: FaultKind; route: string; fault: Fault }
  /** A call to `/refresh` answered (or dropped) by a fault before the route ran. */
  | { type: 'refreshFaulted' }
  /**
   * A client request answered; `status` is `'dropped'` when the connection was cut instead.
   * `startMs`/`endMs`: when it arrived and was answered, on the server's monotonic clock.
   */
  | {
      type: 'requestHandled'
      route: string
      status: number | 'dropped'
      code?: string
      user?: string
      family?: string
      startMs: number
      endMs: number
    }
  | { type: 'reset' }

export type LabDomainEventType = LabDomainEvent['type']

/**
 * Delivers each event to every subscriber, synchronously and in subscription order, before
 * `emit` returns: a change is counted, logged and journaled before its request is answered.
 */
export class DomainEvents {
  readonly #subscribers: ((event: LabDomainEvent) => void)[] = []

  subscribe(subscriber: (event: LabDomainEvent) => void): void {
    this.#subscribers.push(subscriber)
  }

  emit(event: LabDomainEvent): void {
    for (const subscriber of this.#subscribers) subscriber(event)
  }
}
