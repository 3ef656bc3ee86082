import type { IncomingMessage } from 'node:http'
import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { LabError } from '../../src/shared/errors.js'

/** Request bodies larger than this get 413. */
export const BODY_LIMIT_BYTES = 64 * 1024

export function payloadTooLarge(): LabError {
  return new LabError('PAYLOAD_TOO_LARGE', `the request body is larger than ${BODY_LIMIT_BYTES} bytes`)
}

/**
 * The body as text. On a socket it is read straight from Node's request, with the size limit
 * enforced as it arrives: going through \`c.req.text()\` would build a full WHATWG Request per
 * call, a large share of a refresh's cost. Without a socket (\`app.request()\`) it falls back to it.
 */
export async function readBodyText(c: Context): Promise<string> {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming as IncomingMessage | undefined
  if (!incoming || typeof incoming.on !== 'function') return c.req.text()
  // Gone before we started listening (a client that left during a ?_delay): no event will come.
  if (incoming.destroyed || incoming.readableAborted || incoming.errored) return Promise.reject(new Error('aborted'))
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = (error?: Error) => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('aborted', onAborted)
      incoming.off('close', onClose)
      if (error) reject(error)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > BODY_LIMIT_BYTES) {
        incoming.pause() // no more reading: answer 413 and let the connection close
        stop(payloadTooLarge())
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      stop()
      resolve(Buffer.concat(chunks).toString('utf8'))
    }
    const onError = (error: Error) => stop(error)
    const onAborted = () => stop(new Error('aborted'))
    const onClose = () => {
      if (!incoming.readableEnded) stop(new Error('aborted'))
    }
    incoming.on('data', onData)
    incoming.once('end', onEnd)
    incoming.once('error', onError)
    incoming.once('aborted', onAborted)
    incoming.once('close', onClose)
  })
}

/** Reads the body as JSON of any shape; an empty body reads as `undefined`. */
export async function readJson(c: Context): Promise<unknown> {
  let text: string
  try {
    text = await readBodyText(c)
  } catch (error) {
    if (error instanceof LabError) throw error // e.g. PAYLOAD_TOO_LARGE from the body limit
    throw new LabError('BAD_REQUEST', 'the request body could not be read to its end (did the client disconnect?)')
  }
  if (text.trim() === '') return undefined
  // A body must say it is JSON. A page of another origin can POST text/plain (or a form) without
  // a preflight, but not application/json: this is what keeps it from driving the lab or signing in.
  const type = c.req.header('content-type')
  if (!isJsonMediaType(type)) {
    throw new LabError(
      'UNSUPPORTED_MEDIA_TYPE',
      `send the body as JSON with "content-type: application/json"${type === undefined ? '' : `, not "${type.slice(0, 100)}"`}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch {
    // Also where a body nested too deep for the parser ends up.
    throw new LabError('VALIDATION_ERROR', 'the request body is not valid JSON', 400)
  }
  const duplicate = duplicateKey(text)
  if (duplicate !== undefined) throw new LabError('VALIDATION_ERROR', `the key "${duplicate}" appears twice in one object`, 400)
  return value
}

/** `application/json` or `application/<anything>+json` (RFC 6839), with any parameters (`charset=utf-8`). */
export function isJsonMediaType(header: string | undefined): boolean {
  const essence = header?.split(';', 1)[0]?.trim().toLowerCase()
  return essence === 'application/json' || /^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(essence ?? '')
}

/**
 * The first key that appears twice in one object of a valid JSON text. JSON.parse keeps the last
 * silently, and two parsers that disagree on which one wins is how auth checks get bypassed.
 */
export function duplicateKey(text: string): string | undefined {
  const objects: (Set<string> | null)[] = [] // null marks an array
  let expectingKey = false
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]
    if (ch === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const keys = objects.at(-1)
      if (keys && expectingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (keys.has(key)) return key
        keys.add(key)
        expectingKey = false
      }
      i = end
    } else if (ch === '{') {
      objects.push(new Set())
      expectingKey = true
    } else if (ch === '[') {
      objects.push(null)
    } else if (ch === '}' || ch === ']') {
      objects.pop()
    } else if (ch === ',') {
      expectingKey = objects.at(-1) instanceof Set
    }
  }
  return undefined
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
