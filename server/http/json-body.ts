import type { Context } from 'hono'
import { LabError } from '../../src/shared/errors.js'

/** Reads the body as JSON of any shape; an empty body reads as `undefined`. */
export async function readJson(c: Context): Promise<unknown> {
  let text: string
  try {
    text = await c.req.text()
  } catch (error) {
    if (error instanceof LabError) throw error // e.g. PAYLOAD_TOO_LARGE from the body limit
    throw new LabError('BAD_REQUEST', 'the request body could not be read to its end (did the client disconnect?)')
  }
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new LabError('VALIDATION_ERROR', 'the request body is not valid JSON', 400)
  }
}

/** Reads a JSON object body; `example` shows the caller what was expected. */
export async function readJsonObject(c: Context, example: string): Promise<Record<string, unknown>> {
  const value = await readJson(c)
  if (value === undefined) throw new LabError('VALIDATION_ERROR', `the request body is empty; send JSON such as ${example}`, 400)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LabError('VALIDATION_ERROR', `the request body must be a JSON object such as ${example}`)
  }
  return value as Record<string, unknown>
}

/** A required, non-empty string field of a JSON object body. */
export function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field]
  if (value === undefined || value === null) throw new LabError('VALIDATION_ERROR', `"${field}" is required`)
  if (typeof value !== 'string') throw new LabError('VALIDATION_ERROR', `"${field}" must be a string`)
  if (value === '') throw new LabError('VALIDATION_ERROR', `"${field}" must not be empty`)
  return value
}
