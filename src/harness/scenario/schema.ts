import { z } from 'zod'
import { DurationError, parseDuration } from '../../shared/duration.js'

/**
 * The scenario file format, checked with zod on load. A scenario is a name, the real-world bug it
 * catches, server settings, steps and expectations; see scenarios/README.md for the reference.
 */

const duration = z.string().superRefine((text, ctx) => {
  try {
    parseDuration(text)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof DurationError ? error.message : String(error) })
  }
})

const count = z.union([
  z.number().int().min(0),
  z
    .strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
    .refine((range) => range.min !== undefined || range.max !== undefined, 'a range needs "min", "max" or both'),
])

const request = z.strictObject({
  /** A name for expectations and the timeline, e.g. "late". */
  id: z.string().min(1).max(40).optional(),
  method: z.string().regex(/^[A-Za-z]+$/, 'an HTTP method such as GET or POST').default('GET'),
  path: z.string().startsWith('/', 'a path starting with "/"').default('/api/users'),
  body: z.unknown().optional(),
  /** Server-side delay of this request's answer (sent as `?_delay=`), so answers arrive staggered. */
  delay: duration.optional(),
  /** Wait this long after the step starts before issuing the request. */
  after: duration.optional(),
  /** Which tab (client) sends it, from 0; by default the requests of a step go round the tabs. */
  tab: z.number().int().min(0).optional(),
})

const serverSettings = z.strictObject({
  accessTtl: duration.optional(),
  refreshTtl: duration.optional(),
  sessionTtl: duration.optional(),
  reuseGrace: duration.optional(),
})

const step = z.discriminatedUnion('do', [
  z.strictObject({ do: z.literal('signIn'), user: z.string().regex(/^[^:]+:.+$/, 'email:password').optional() }),
  z.strictObject({ do: z.literal('advanceClock'), by: duration }),
  z.strictObject({ do: z.literal('expire'), tokens: z.enum(['access', 'refresh', 'both']).default('access') }),
  z.strictObject({
    do: z.literal('fault'),
    path: z.string().startsWith('/'),
    method: z.string().optional(),
    times: z.number().int().min(1).optional(),
    delay: duration.optional(),
    status: z.number().int().min(400).max(599).optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    drop: z.boolean().optional(),
  }),
  serverSettings.extend({ do: z.literal('configure') }),
  z.strictObject({
    do: z.literal('parallel'),
    count: z.number().int().min(1).max(10_000).optional(),
    request: request.optional(),
    requests: z.array(request).min(1).optional(),
  }).refine((s) => (s.requests === undefined) !== (s.request === undefined && s.count === undefined), {
    message: 'give either "requests" or "count" with an optional "request"',
  }),
  z.strictObject({ do: z.literal('sequence'), requests: z.array(request).min(1) }),
  z.strictObject({ do: z.literal('revoke') }),
  z.strictObject({ do: z.literal('logout') }),
])

const expectations = z.strictObject({
  /** Refresh calls, counted on both sides. */
  refreshes: count.optional(),
  clientRefreshes: count.optional(),
  serverRefreshes: count.optional(),
  /** Whether the server detects reuse of a rotated refresh token; absent means "no check". */
  reuse: z.boolean().optional(),
  /** `all-succeeded`, `any`, or `{ "failed": { "<request id>": "<error code>" } }` with every other request succeeding. */
  requests: z.union([z.enum(['all-succeeded', 'any']), z.strictObject({ failed: z.record(z.string(), z.string()) })]).default('all-succeeded'),
  signedOut: z.boolean().optional(),
  onLogout: count.optional(),
  /** Every POST to /api/echo got back exactly the body it sent, retries included. */
  echoIntact: z.boolean().optional(),
  /** Upper bound on the client's HTTP calls; calls past it are refused, so a loop ends. */
  maxCalls: z.number().int().min(1).max(1_000_000).optional(),
})

export const scenarioSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a lower-case name such as "late-401"'),
  description: z.string().min(20, 'a sentence saying which real-world bug this catches'),
  server: serverSettings.default({}),
  /** Clients sharing one token storage, each with its own lock: browser tabs. */
  tabs: z.number().int().min(1).max(16).default(1),
  /** The whole scenario's time bound. */
  timeout: duration.default('10s'),
  steps: z.array(step).min(1),
  expect: expectations,
})

export type Scenario = z.infer<typeof scenarioSchema>
export type ScenarioStep = Scenario['steps'][number]
export type ScenarioRequest = z.infer<typeof request>
export type ScenarioExpectations = Scenario['expect']
