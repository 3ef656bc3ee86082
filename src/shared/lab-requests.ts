import * as z from 'zod'
import { duration, oneOf, switchValue, wholeNumber } from './checks.js'

/**
 * The bodies the lab control API takes, as zod schemas: the server checks requests with them and
 * the scenario format checks its `fault` steps with the same one, so the two cannot disagree.
 * Unlike the auth routes, which ignore extra fields as real servers do, lab calls refuse unknown
 * fields: a typo such as `"advanced"` must fail loudly, not leave the test without its change.
 */

const MAX_FAULT_DELAY_MS = 60_000

const nonEmpty = (maxLength: number) =>
  z
    .string({ error: 'must be a non-empty string' })
    .min(1, { error: 'must be a non-empty string' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` })

const body = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z.strictObject(shape, { error: 'the request body must be a JSON object' })

export const faultFields = {
  path: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required and must start with "/"' : 'must be a path starting with "/"') })
    .max(2_000, { error: 'must be at most 2000 characters' })
    .startsWith('/', { error: 'must start with "/"' })
    .refine((path) => !path.startsWith('/_lab'), { error: 'faults cannot be set on the lab control API itself' }),
  method: nonEmpty(16).optional(),
  times: wholeNumber(1, 1_000_000).optional(),
  delay: duration(0, MAX_FAULT_DELAY_MS).optional(),
  status: wholeNumber(400, 599).optional(),
  code: nonEmpty(64).optional(),
  message: nonEmpty(500).optional(),
  /** Drop the connection before the route runs. */
  drop: switchValue.optional(),
  /** Let the route run (a refresh rotates), then drop the connection without its answer. */
  dropAfter: switchValue.optional(),
}

/** What no single field of a fault can check alone; shared by the server and the scenario format. */
export function faultRules(fault: { [K in keyof typeof faultFields]?: unknown }, ctx: z.RefinementCtx): void {
  const complain = (message: string) => ctx.addIssue({ code: 'custom', message })
  if (fault.delay === undefined && fault.status === undefined && fault.drop !== true && fault.dropAfter !== true) {
    complain('a fault needs "delay", "status", "drop": true or "dropAfter": true')
  }
  if ((fault.drop === true || fault.dropAfter === true) && fault.status !== undefined)
    complain('a fault either answers a "status" or drops the connection, not both')
  if (fault.drop === true && fault.dropAfter === true)
    complain('a fault drops the connection before the route runs ("drop") or after it ("dropAfter"), not both')
  if (fault.status === undefined && (fault.code !== undefined || fault.message !== undefined))
    complain('"code" and "message" go with "status"')
}

/** `POST /_lab/faults`. */
export const faultRequest = body(faultFields).superRefine(faultRules)

/** `POST /_lab/clock`: move the lab clock by a duration, or set it to an instant. */
export const clockRequest = body({
  advance: duration(0).optional(),
  set: z
    .union([z.string(), z.number()], { error: 'must be an ISO time or epoch milliseconds' })
    .transform((value, ctx) => {
      const ms = new Date(value).getTime()
      if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: 'must be an ISO time or epoch milliseconds' })
      return ms
    })
    .optional(),
}).refine((clock) => (clock.advance === undefined) !== (clock.set === undefined), {
  error: 'send exactly one of "advance" (a duration such as "35s") or "set" (an ISO time)',
})

const scopeFields = {
  /** A user's email. */
  user: nonEmpty(320).optional(),
  /** A family (session) id, the `sid` of its access tokens. */
  family: nonEmpty(100).optional(),
}
const oneScope = (scope: { user?: string | undefined; family?: string | undefined }) =>
  scope.user === undefined || scope.family === undefined
const ONE_SCOPE = { error: 'give "user" or "family", not both' }

/** `POST /_lab/revoke`: every session, or a user's, or one family. */
export const revokeRequest = body(scopeFields).refine(oneScope, ONE_SCOPE)

/** `POST /_lab/expire`: which tokens, in the same scopes as revoke. */
export const expireRequest = body({ ...scopeFields, tokens: oneOf(['access', 'refresh', 'both']).default('access') }).refine(
  oneScope,
  ONE_SCOPE,
)
