import type { LabStats } from '../src/shared/wire.js'
import type { LabDomainEvent } from './domain-events.js'

/** The lab's counters; `snapshot()` is what `GET /_lab/stats` answers. */
export class LabCounters {
  #stats = emptyStats()

  /**
   * The one place anything is counted: each domain event moves the counters it concerns. A refresh
   * is a call that succeeded, was rejected (reuse included), or was answered by a fault.
   */
  count(event: LabDomainEvent): void {
    const stats = this.#stats
    switch (event.type) {
      case 'requestHandled': {
        const byStatus = (stats.requests[event.route] ??= {})
        byStatus[event.status] = (byStatus[event.status] ?? 0) + 1
        return
      }
      case 'signedIn':
        stats.logins += 1
        return
      case 'refreshed':
        stats.refresh.calls += 1
        stats.refresh.succeeded += 1
        if (event.graceOf !== undefined) stats.refresh.graceReuses += 1
        return
      case 'reuseDetected':
      case 'refreshRejected':
        stats.refresh.calls += 1
        stats.refresh.rejected += 1
        stats.refresh.rejectedByCode[event.code] = (stats.refresh.rejectedByCode[event.code] ?? 0) + 1
        if (event.type === 'reuseDetected') stats.reuseDetected += 1
        return
      case 'refreshFaulted':
        stats.refresh.calls += 1
        stats.refresh.faulted += 1
        return
      case 'familyRevoked':
        stats.familiesRevoked += 1
        return
      case 'faultInjected':
        stats.faults.injected += 1
        stats.faults[event.kind] += 1
        return
      // Lab control actions that changed what clients see: visible in stats, not only in events.
      case 'clockMoved':
        stats.lab.clockMoves += 1
        return
      case 'tokensExpired':
        stats.lab.expiries += 1
        return
      case 'sessionsRevoked':
        stats.lab.revocations += 1
        return
      case 'configChanged':
        stats.lab.configChanges += 1
        return
      case 'reset':
        this.#stats = emptyStats()
        return
    }
  }

  snapshot(): LabStats {
    return structuredClone(this.#stats)
  }

  /** The counters as they are, uncopied: for a caller that only reads them at once (the Redis store's deltas). */
  peek(): Readonly<LabStats> {
    return this.#stats
  }

  reset(): void {
    this.#stats = emptyStats()
  }
}

function emptyStats(): LabStats {
  return {
    refresh: { calls: 0, succeeded: 0, rejected: 0, rejectedByCode: {}, graceReuses: 0, faulted: 0 },
    faults: { injected: 0, delay: 0, status: 0, drop: 0 },
    lab: { clockMoves: 0, expiries: 0, revocations: 0, configChanges: 0 },
    logins: 0,
    reuseDetected: 0,
    familiesRevoked: 0,
    requests: {},
  }
}
