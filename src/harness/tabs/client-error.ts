import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * How a request a client rejected is reported, once it has left the client's thread or process
 * (where the error's class is lost). `code` is what failures are counted under: the client's own
 * code (an `ApiError`'s `TOKEN_EXPIRED`), `NETWORK_ERROR` for a bare fetch failure, otherwise the
 * error itself in one line: `TypeError: oops (my-client.ts:12)`.
 */
export interface ClientFailure {
  code: string
  status?: number
  message: string
  /** The error's class (`TypeError`), when it is not one with a code of its own. */
  name?: string
  /** `file:line` of the first stack frame in the client's own file. */
  at?: string
}

/**
 * Describes what a client rejected with. `clientFile` (a path) is used to find the frame that
 * points into the user's code rather than into a library or the harness.
 */
export function describeRejection(reason: unknown, clientFile?: string): ClientFailure {
  const error = reason as { code?: unknown; status?: unknown; message?: unknown; name?: unknown; cause?: unknown; stack?: unknown } | null
  const message = typeof error?.message === 'string' ? error.message : String(reason)
  const status = typeof error?.status === 'number' ? error.status : undefined
  const withStatus = <T extends ClientFailure>(failure: T): T => (status === undefined ? failure : { ...failure, status })
  // The contract's errors carry a code (and a status): TOKEN_EXPIRED, NETWORK_ERROR. A library's
  // own codes without a status (Node's and axios's ERR_*) say more with their message and line.
  if (typeof error?.code === 'string' && error.code !== '' && (status !== undefined || !error.code.startsWith('ERR_'))) {
    return withStatus({ code: error.code, message })
  }
  // fetch's own failure to get an answer; a TypeError from a bad URL has a cause too, but is a bug.
  if (reason instanceof TypeError && message === 'fetch failed') return withStatus({ code: 'NETWORK_ERROR', message })
  const name = typeof error?.name === 'string' && error.name !== '' ? error.name : 'Error'
  const at = typeof error?.stack === 'string' && clientFile !== undefined ? frameIn(error.stack, clientFile) : undefined
  const oneLine = `${name}: ${firstLine(message)}${at === undefined ? '' : ` (${at})`}`
  return withStatus({ code: oneLine, message, name, ...(at === undefined ? {} : { at }) })
}

/** `my-client.ts:12` for the first frame of `stack` inside `file`. */
export function frameIn(stack: string, file: string): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const location = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(line.trim())
    if (!location?.[1]) continue
    const path = location[1].startsWith('file://') ? safeFilePath(location[1]) : location[1]
    if (path === file) return `${basename(file)}:${location[2]}`
  }
  return undefined
}

function safeFilePath(url: string): string {
  try {
    return fileURLToPath(url)
  } catch {
    return url
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? ''
  return line.length > 160 ? `${line.slice(0, 157)}…` : line
}
