import type { LabStats } from '../src/shared/wire.js'

/** The lab's counters; `snapshot()` is what `GET /_lab/stats` answers. */
export class LabCounters {
  #stats = emptyStats()

  request(route: string, status: number | 'dropped'): void {
    const byStatus = (this.#stats.requests[route] ??= {})
    byStatus[status] = (byStatus[status] ?? 0) + 1
  }

  login(): void {
    this.#stats.logins += 1
  }

  refreshSucceeded(viaGrace: boolean): void {
    this.#stats.refresh.calls += 1
    this.#stats.refresh.succeeded += 1
    if (viaGrace) this.#stats.refresh.graceReuses += 1
  }

  refreshRejected(code: string): void {
    const refresh = this.#stats.refresh
    refresh.calls += 1
    refresh.rejected += 1
    refresh.rejectedByCode[code] = (refresh.rejectedByCode[code] ?? 0) + 1
  }

  /** A call to `/refresh` that an injected fault answered (or dropped) before the route ran. */
  refreshFaulted(): void {
    this.#stats.refresh.calls += 1
    this.#stats.refresh.faulted += 1
  }

  faultInjected(kind: 'delay' | 'status' | 'drop'): void {
    this.#stats.faults.injected += 1
    this.#stats.faults[kind] += 1
  }

  /** A lab control action that changed what clients see: visible in stats, not only in events. */
  labAction(kind: keyof LabStats['lab']): void {
    this.#stats.lab[kind] += 1
  }

  reuseDetected(): void {
    this.#stats.reuseDetected += 1
  }

  familyRevoked(): void {
    this.#stats.familiesRevoked += 1
  }

  snapshot(): LabStats {
    return structuredClone(this.#stats)
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
