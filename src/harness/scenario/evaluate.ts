import { isDeepStrictEqual } from 'node:util'
import { wireCode, type Profile } from '../../shared/profiles.js'
import { ROUTES } from '../../shared/wire.js'
import { check, checkCount, type Expectation } from '../expectations.js'
import type { RequestOutcome as Outcome } from '../outcomes.js'
import type { ScenarioExpectations, ScenarioRequest } from './schema.js'

/** How one request of a scenario ended, with the request it was. */
export interface RequestOutcome extends Outcome {
  request: ScenarioRequest
}

/** A scenario's expectations as the runner checks them: a file's, and two that only a burst states. */
export interface RunExpectations extends ScenarioExpectations {
  /**
   * No refresh-token reuse, the check saying how many reuses the server detected and how many
   * refresh tokens the client replayed (a burst's; a file's `"reuse": false` says yes or no).
   */
  noReuse?: true
  /**
   * Check that the run ended within its timeout; default true. A burst does not: requests the
   * bound ended already make an `error` verdict, and its report has never listed the check.
   */
  finishedInTime?: boolean
}

/** What a run saw, from both sides, for the expectations to be checked against. */
export interface Observed {
  /** Unknown when the client's calls bypassed the harness's fetch. */
  clientRefreshes: number | undefined
  serverRefreshes: number
  reuseDetected: boolean
  /** Reuses the server detected. */
  reuses: number
  /** Refresh tokens the client sent again; unknown when its calls bypassed the harness's fetch. */
  replays: number | undefined
  outcomes: RequestOutcome[]
  loggedOut: boolean
  /** Signed out, or holding tokens whose session is no longer active. */
  sessionLost: boolean
  signedInState: string
  onLogoutCalls: number
  calls: number | undefined
  maxCalls: number
  timedOut: boolean
  timeoutMs: number
  /** Expected error codes are refresh-lab's own; the server's profile may put others on the wire. */
  profile: Profile
}

/** Checks the expectations a scenario states, in one fixed order, each with what was expected and what happened. */
export function evaluate(expect: RunExpectations, seen: Observed): Expectation[] {
  const results: Expectation[] = []
  const both = expect.refreshes
  const client = expect.clientRefreshes ?? both
  const server = expect.serverRefreshes ?? both
  if (client !== undefined && seen.clientRefreshes !== undefined)
    results.push(checkCount('refresh calls (client)', client, seen.clientRefreshes))
  if (server !== undefined) results.push(checkCount('refresh calls (server)', server, seen.serverRefreshes))
  if (seen.clientRefreshes !== undefined) results.push(check('client and server agree', seen.clientRefreshes, seen.serverRefreshes))
  if (expect.reuse !== undefined) results.push(check('reuse detected', expect.reuse ? 'yes' : 'no', seen.reuseDetected ? 'yes' : 'no'))
  if (expect.noReuse) {
    const replays = seen.replays === undefined ? '' : `, ${seen.replays} replayed`
    results.push(check('no refresh-token reuse', 'none', seen.reuseDetected ? `${seen.reuses} detected${replays}` : 'none'))
  }

  if (expect.requests === 'all-succeeded') {
    results.push(check('requests succeeded', seen.outcomes.length, seen.outcomes.filter((o) => o.ok).length))
  } else if (expect.requests !== 'any') {
    const named = expect.requests.failed
    for (const [id, spec] of Object.entries(named)) {
      const accepted = (Array.isArray(spec) ? spec : [spec]).map((ending) =>
        typeof ending === 'string' && ending !== 'ok' ? wireCode(seen.profile, ending) : ending,
      )
      const outcome = seen.outcomes.find((o) => o.id === id)
      const actual =
        outcome === undefined
          ? 'not run'
          : outcome.ok
            ? 'ok'
            : `${outcome.code ?? 'ERROR'}${outcome.failure?.status === undefined ? '' : ` (${outcome.failure.status})`}`
      const pass = outcome !== undefined && accepted.some((ending) => endsAs(outcome, ending))
      const name = accepted.includes('ok') ? `request ${id} ends with` : `request ${id} fails with`
      results.push({ name, pass, expected: accepted.map(describeEnding).join(' or '), actual })
    }
    const others = seen.outcomes.filter((o) => !Object.hasOwn(named, o.id))
    results.push(check('other requests succeeded', others.length, others.filter((o) => o.ok).length))
  }

  if (expect.lostSessionExplained) {
    const lost = seen.sessionLost ? (seen.reuseDetected ? 'lost, after a detected reuse' : 'lost, with no reuse detected') : 'kept'
    results.push({
      name: 'session lost only by a detected reuse',
      pass: !seen.sessionLost || seen.reuseDetected,
      expected: 'kept, or lost after a detected reuse',
      actual: lost,
    })
  }
  if (expect.signedOut === true) results.push(check('signed out', true, seen.loggedOut))
  if (expect.signedOut === false) results.push(check('still signed in', 'yes', seen.signedInState))
  if (expect.onLogout !== undefined) results.push(checkCount('onLogout calls', expect.onLogout, seen.onLogoutCalls))
  if (expect.echoIntact) {
    const posts = seen.outcomes.filter((o) => o.request.method.toUpperCase() === 'POST' && o.request.path.startsWith(ROUTES.echo))
    const intact = posts.filter(
      (o) => o.ok && isDeepStrictEqual((o.value as { data?: { received?: unknown } } | null)?.data?.received, o.request.body ?? null),
    )
    // No POST to /api/echo at all is a broken scenario, not a pass.
    results.push(
      check(
        'POST bodies arrived intact',
        posts.length === 0 ? 'at least 1 POST /api/echo' : `${posts.length} of ${posts.length}`,
        `${intact.length} of ${posts.length}`,
      ),
    )
  }
  if (seen.calls !== undefined) results.push(checkCount('HTTP calls within the bound', { max: seen.maxCalls }, seen.calls))
  if (expect.finishedInTime !== false)
    results.push(check('finished in time', `within ${seen.timeoutMs} ms`, seen.timedOut ? 'timed out' : `within ${seen.timeoutMs} ms`))
  return results
}

type Ending = string | { status: number }

function endsAs(outcome: RequestOutcome, ending: Ending): boolean {
  if (ending === 'ok') return outcome.ok
  if (ending === 'any') return !outcome.ok
  if (outcome.ok) return false
  return typeof ending === 'string' ? outcome.code === ending : outcome.failure?.status === ending.status
}

function describeEnding(ending: Ending): string {
  if (ending === 'any') return 'any error'
  return typeof ending === 'string' ? ending : `any ${ending.status}`
}
