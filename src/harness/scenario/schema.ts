import * as z from 'zod'
import { DurationError, formatDuration, parseDuration } from '../../shared/duration.js'
import { asWritten } from '../../shared/checks.js'
import { faultFields, faultRules } from '../../shared/lab-requests.js'
import { LIVE_SETTING_NAMES, SETTINGS, type LiveSettingName, type LiveSettingsInput } from '../../shared/settings.js'

/**
 * The scenario file format, checked with zod on load. A scenario is a name, the real-world bug it
 * catches, server settings, steps and expectations; see scenarios/README.md for the reference.
 */

/** A duration string such as "35s", at most `maxMs` when given (the server's own caps). */
const durationUpTo = (maxMs?: number) =>
  z.string().superRefine((text, ctx) => {
    try {
      const ms = parseDuration(text)
      if (maxMs !== undefined && ms > maxMs) ctx.addIssue({ code: 'custom', message: `"${text}" is longer than ${formatDuration(maxMs)}` })
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof DurationError ? error.message : String(error) })
    }
  })
const duration = durationUpTo()

const count = z.union(
  [
    z.number().int().min(0),
    z
      .strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
      .refine((range) => range.min !== undefined || range.max !== undefined, 'a range needs "min", "max" or both'),
  ],
  { error: 'expected a count such as 1, or a range such as {"min":1,"max":2}' },
)

const request = z.strictObject({
  /** A name for expectations and the timeline, e.g. "late". */
  id: z.string().min(1).max(40).optional(),
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, 'an HTTP method such as GET or POST')
    .default('GET'),
  path: z.string().startsWith('/', 'a path starting with "/"').default('/api/users'),
  body: z.unknown().optional(),
  /** Server-side delay of this request's answer (sent as `?_delay=`), so answers arrive staggered. */
  delay: durationUpTo(30_000).optional(),
  /**
   * "refresh": the server holds this request, if bound for a 401, until its session has refreshed
   * (at once if it already has), then `delay` more (sent as `?_wait=refresh`), so its 401 lands
   * after the refresh however long that took.
   */
  waitFor: z.literal('refresh', { error: 'expected "refresh"' }).optional(),
  /** Wait this long after the step starts before issuing the request. */
  after: durationUpTo(600_000).optional(),
  /** Which tab (client) sends it, from 0; by default the requests of a step go round the tabs. */
  tab: z.number().int().min(0).optional(),
})

/**
 * Any live server setting, checked by the server's own schema (src/shared/settings.ts) but kept as
 * written: the runner sends it to whichever server runs the scenario.
 */
const serverSettings = z.strictObject(
  Object.fromEntries(LIVE_SETTING_NAMES.map((name) => [name, asWritten(SETTINGS[name].schema).optional()])) as {
    [K in LiveSettingName]: z.ZodOptional<z.ZodCustom<LiveSettingsInput[K]>>
  },
)

/** A fault as `POST /_lab/faults` takes it, checked by the server's own schema and sent as written. */
const faultStep = z
  .strictObject({
    do: z.literal('fault'),
    ...(Object.fromEntries(
      Object.entries(faultFields).map(([name, schema]) => [
        name,
        schema.safeParse(undefined).success ? asWritten(schema).optional() : asWritten(schema),
      ]),
    ) as {
      [K in keyof typeof faultFields]: z.ZodCustom<z.input<(typeof faultFields)[K]>>
    }),
  })
  .superRefine(faultRules)

const step = z.discriminatedUnion('do', [
  z.strictObject({
    do: z.literal('signIn'),
    user: z
      .string()
      .regex(/^[^:]+:.+$/, 'email:password')
      .optional(),
  }),
  z.strictObject({ do: z.literal('advanceClock'), by: duration }),
  z.strictObject({ do: z.literal('expire'), tokens: z.enum(['access', 'refresh', 'both']).default('access') }),
  faultStep,
  serverSettings.extend({ do: z.literal('configure') }),
  z
    .strictObject({
      do: z.literal('parallel'),
      count: z.number().int().min(1).max(10_000).optional(),
      request: request.optional(),
      requests: z.array(request).min(1).optional(),
    })
    .refine((s) => (s.requests === undefined) !== (s.request === undefined && s.count === undefined), {
      message: 'give either "requests" or "count" with an optional "request"',
    }),
  z.strictObject({ do: z.literal('sequence'), requests: z.array(request).min(1) }),
  z.strictObject({ do: z.literal('revoke') }),
  z.strictObject({ do: z.literal('logout') }),
])

/**
 * How one named request may end: an error code (`"TOKEN_REVOKED"`), any error with a status
 * (`{"status": 401}`), `"any"` (any error at all), or `"ok"` (it succeeded); a list accepts any of them.
 */
const ending = z.union([z.string().min(1), z.strictObject({ status: z.number().int().min(0).max(599) })])
const endings = z.union([ending, z.array(ending).min(1)])

const expectations = z.strictObject({
  /** Refresh calls, counted on both sides. */
  refreshes: count.optional(),
  clientRefreshes: count.optional(),
  serverRefreshes: count.optional(),
  /** Whether the server detects reuse of a rotated refresh token; absent means "no check". */
  reuse: z.boolean().optional(),
  /**
   * `all-succeeded`, `any`, or `{ "failed": { "<request id>": <ending> } }` with every other request
   * succeeding, where an ending is a code, `{"status": 401}`, `"ok"`, or a list of them.
   */
  requests: z.union([z.enum(['all-succeeded', 'any']), z.strictObject({ failed: z.record(z.string(), endings) })]).default('all-succeeded'),
  /** If the client lost its session (signed out, or holds revoked tokens), the server detected a reuse that explains it. */
  lostSessionExplained: z.literal(true).optional(),
  signedOut: z.boolean().optional(),
  onLogout: count.optional(),
  /** Every POST to /api/echo got back exactly the body it sent, retries included. */
  echoIntact: z.literal(true).optional(),
  /** Upper bound on the client's HTTP calls; calls past it are refused, so a loop ends. */
  maxCalls: z.number().int().min(1).max(1_000_000).optional(),
})

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a lower-case name such as "late-401"'),
    /** Which real-world bug this catches; its "A client that …" sentence is printed under a failure. */
    description: z.string(),
    /**
     * `must`: every correct client holds it, and a failure fails the run. `should`: good practice
     * that not every correct client needs (e.g. cross-tab safety); a failure is reported as
     * `non-strict` and fails the run only with `--strict`.
     */
    level: z.enum(['must', 'should']).default('must'),
    /** Delays of the harness's token storage, like a real SecureStore or AsyncStorage. */
    storage: z.strictObject({ loadDelay: durationUpTo(10_000).optional(), saveDelay: durationUpTo(10_000).optional() }).default({}),
    server: serverSettings.default({}),
    /** Client instances sharing one token storage and navigator.locks, each with its own module state: browser tabs. */
    tabs: z.number().int().min(1).max(16).default(1),
    /** The whole scenario's time bound. */
    timeout: durationUpTo(600_000).default('10s'),
    steps: z.array(step).min(1),
    expect: expectations,
  })
  .superRefine((scenario, ctx) => {
    // Mistakes that span fields, caught on load rather than halfway through a run.
    const ids = new Set<string>()
    scenario.steps.forEach((step, stepIndex) => {
      const requests =
        step.do === 'parallel' ? (step.requests ?? (step.request ? [step.request] : [])) : step.do === 'sequence' ? step.requests : []
      const key = step.do === 'parallel' && step.requests === undefined ? 'request' : 'requests'
      requests.forEach((request, index) => {
        const path = key === 'request' ? ['steps', stepIndex, 'request'] : ['steps', stepIndex, 'requests', index]
        if (request.tab !== undefined && request.tab >= scenario.tabs) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'tab'],
            message: `tab ${request.tab} does not exist: the scenario has ${scenario.tabs} tab(s), numbered from 0`,
          })
        }
        if (request.id === undefined) return
        if (ids.has(request.id)) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `the id "${request.id}" is used twice` })
        ids.add(request.id)
      })
    })
    const failed = scenario.expect.requests
    if (typeof failed === 'object') {
      for (const id of Object.keys(failed.failed)) {
        if (!ids.has(id))
          ctx.addIssue({ code: 'custom', path: ['expect', 'requests', 'failed', id], message: `no request has the id "${id}"` })
      }
    }
  })

export type Scenario = z.infer<typeof scenarioSchema>
export type ScenarioStep = Scenario['steps'][number]
export type ScenarioRequest = z.infer<typeof request>
export type ScenarioExpectations = Scenario['expect']
