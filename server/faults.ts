/**
 * Faults the lab injects on a route for its next N calls: a delay, an answer with a chosen status
 * and error envelope, or a connection dropped without any answer. Checked by one middleware
 * before the route runs.
 */
export interface FaultSpec {
  /** Exact request path, e.g. `/api/auth/refresh`. */
  path: string
  /** Only this method; any method when absent. */
  method?: string
  /** How many matching calls it affects; each call uses up one. */
  times: number
  /** Wait this long (real time) before going on. */
  delayMs?: number
  /** Answer with this status and envelope instead of running the route. */
  status?: number
  code?: string
  message?: string
  /** Close the connection without any answer, before the route runs: nothing happened on the server. */
  drop?: boolean
  /**
   * Let the route run (a refresh rotates), then close the connection without its answer: the
   * client cannot tell this from `drop`, but the server has moved on.
   */
  dropAfter?: boolean
}

export interface Fault extends FaultSpec {
  readonly id: number
  remaining: number
}

export type FaultKind = 'delay' | 'status' | 'drop'

export function faultKind(fault: FaultSpec): FaultKind {
  return fault.drop || fault.dropAfter ? 'drop' : fault.status !== undefined ? 'status' : 'delay'
}

export class FaultTable {
  #faults: Fault[] = []
  #nextId = 1

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: this.#nextId++, remaining: spec.times }
    this.#faults.push(fault)
    return fault
  }

  /** True while any fault has calls left: when not, a request need not look. */
  get armed(): boolean {
    return this.#faults.length > 0
  }

  /** Uses up one call of the oldest fault that matches, if any. */
  take(method: string, path: string): Fault | undefined {
    const fault = this.#faults.find((f) => f.path === path && (f.method === undefined || f.method === method))
    if (!fault) return undefined
    fault.remaining -= 1
    if (fault.remaining === 0) this.#faults = this.#faults.filter((f) => f !== fault)
    return fault
  }

  list(): Fault[] {
    return this.#faults.map((fault) => ({ ...fault }))
  }

  clear(): void {
    this.#faults = []
  }
}

export function describeFault(fault: Fault): string {
  const parts = [fault.method ? `${fault.method} ${fault.path}` : fault.path]
  if (fault.delayMs !== undefined) parts.push(`delay ${fault.delayMs} ms`)
  if (fault.status !== undefined) parts.push(`answer ${fault.status}${fault.code ? ` ${fault.code}` : ''}`)
  if (fault.drop) parts.push('drop the connection')
  if (fault.dropAfter) parts.push('run the route, then drop the connection')
  parts.push(`${fault.remaining} more call${fault.remaining === 1 ? '' : 's'} after this`)
  return parts.join(', ')
}
