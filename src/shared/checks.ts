import * as z from 'zod'
import { DurationError, formatDuration, parseDuration } from './duration.js'

/**
 * Value checks (zod) and how their complaints are worded, shared by the settings, the lab API's
 * request bodies and the scenario format, so a bad value reads the same wherever it was written.
 */

/**
 * A schema's complaint about a value. Most read after the value ("must be at least 1ms"); a few
 * are whole statements that name the value themselves (`invalid duration "30": …`).
 */
export const PREDICATE = /^(must|is) /

export const duration = (min: number, max?: number) =>
  z.string({ error: 'must be a duration string such as "35s"' }).transform((text, ctx) => {
    let ms: number
    try {
      ms = parseDuration(text)
    } catch (error) {
      ctx.issues.push({ code: 'custom', input: text, message: error instanceof DurationError ? error.message : String(error) })
      return z.NEVER
    }
    if (ms < min || (max !== undefined && ms > max)) {
      const message = ms < min ? `must be at least ${formatDuration(min)}` : `must be at most ${formatDuration(max as number)}`
      ctx.issues.push({ code: 'custom', input: text, message })
      return z.NEVER
    }
    return ms
  })

export const wholeNumber = (min: number, max: number, error = `must be a whole number from ${min} to ${max}`) =>
  z.number({ error }).int({ error }).min(min, { error }).max(max, { error })

export const oneOf = <const T extends readonly [string, ...string[]]>(choices: T) =>
  z.enum(choices, { error: `must be one of ${choices.map((choice) => `"${choice}"`).join(', ')}` })

export const switchValue = z.boolean({ error: 'must be true or false' })

export const text = (error: string, test: (value: string) => boolean) => z.string({ error }).refine(test, { error })

/**
 * Checked by `schema` but kept as written: what the harness checks on load and then sends to a
 * server as it is (a scenario's settings and faults), so it never has to turn a value back into text.
 */
export const asWritten = <S extends z.ZodType>(schema: S) =>
  z.custom<z.input<S>>().superRefine((value, ctx) => {
    const checked = schema.safeParse(value)
    if (!checked.success) ctx.addIssue({ code: 'custom', message: checked.error.issues[0]?.message ?? 'is not valid' })
  })

/** `--port: "70000" is not a port number`, or `JWT_ACCESS_EXPIRY: invalid duration "30": …`. */
export function complaintAbout(where: string, value: unknown, complaint: string): string {
  if (!PREDICATE.test(complaint)) return `${where}: ${complaint}`
  return `${where}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)} ${complaint}`
}

/** `"accessTtl" must be at least 1ms`, or `"reuseGrace": invalid duration "soon": …`: a JSON field's complaint. */
export function fieldComplaint(field: string, complaint: string): string {
  return PREDICATE.test(complaint) ? `"${field}" ${complaint}` : `"${field}": ${complaint}`
}

/**
 * A JSON body checked against a strict object schema, or its first complaint in one line: the
 * field named, an unknown field with the ones expected, or the rule broken. No body means `{}`.
 */
export function checkBody<S extends z.ZodObject>(
  schema: S,
  input: unknown,
): { ok: true; value: z.output<S> } | { ok: false; complaint: string } {
  const checked = schema.safeParse(input ?? {})
  if (checked.success) return { ok: true, value: checked.data }
  const issue = checked.error.issues[0]
  if (issue === undefined) return { ok: false, complaint: 'the request body is not valid' }
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(schema.shape).map((key) => `"${key}"`)
    return { ok: false, complaint: `unknown field "${issue.keys[0]}"; expected ${known.join(', ')}` }
  }
  return { ok: false, complaint: issue.path.length === 0 ? issue.message : fieldComplaint(issue.path.join('.'), issue.message) }
}
