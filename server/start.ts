import { createServer, STATUS_CODES } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { getRequestListener, RequestError } from '@hono/node-server'
import { LabError, type ErrorCode } from '../src/shared/errors.js'
import { createApp } from './app.js'
import type { ServerConfig } from './config.js'
import { sweepQuietly, type Lab } from './lab.js'

export interface RunningServer {
  /** Base URL such as `http://127.0.0.1:4000`, with the real port when `port` was 0. */
  readonly url: string
  readonly port: number
  readonly lab: Lab
  /**
   * Stops accepting connections, ends idle keep-alive sockets, lets requests in flight finish for
   * up to `graceMs` (default 5 s), then cuts what is left, and resolves when closed.
   */
  close(graceMs?: number): Promise<void>
}

/** Puts the lab app on a socket and resolves once it is listening. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const { app, lab } = createApp(config)
  // A bad --key or an unwritable --data-dir stops startup here, before anything listens; the lock goes with it.
  await lab.ready.catch((error: unknown) => {
    lab.close()
    throw error
  })
  const listener = getRequestListener(app.fetch, { hostname: config.host, errorHandler: requestErrorAnswer })
  const server = createServer(
    {
      // A client that trickles its headers or body does not hold a connection forever: --request-timeout
      // bounds both, and nothing shorter, so a server under heavy load does not cut clients it was slow to read.
      headersTimeout: config.requestTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // How often Node looks for requests past those timeouts (its default, 30 s, would let a slow drip run long).
      connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs),
    },
    listener,
  )
  // Idle sockets past this are closed as they arrive, rather than held until the open-file limit.
  server.maxConnections = config.maxConnections
  server.on('clientError', answerClientError)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // A deep accept queue: a burst opens thousands of connections at once, and with Node's default
    // of 511 the kernel drops the overflow, which then retries after a second or more.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const url = `http://${host}:${port}`
  lab.tokens.issuer = config.issuer ?? url
  // Memory stays flat on a server left running: ended sessions are forgotten an hour later.
  const sweeper = setInterval(() => sweepQuietly(lab), 60_000).unref()
  return {
    url,
    port,
    lab,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        clearInterval(sweeper)
        const cut = setTimeout(() => server.closeAllConnections(), graceMs).unref()
        lab.events.closeSubscribers() // open lab pages would hold the server open
        server.close((error) => {
          clearTimeout(cut)
          lab.close() // after the last request: its change is in the journal
          if (error) reject(error)
          else resolve()
        })
        server.closeIdleConnections()
      }),
  }
}

/** A request @hono/node-server could not turn into a `Request` (e.g. a bad `Host`): still the envelope. */
function requestErrorAnswer(error: unknown): Response {
  const lab =
    error instanceof RequestError
      ? new LabError('BAD_REQUEST', `the request could not be read: ${error.message}`)
      : new LabError('INTERNAL_ERROR', 'unexpected server error; see the server log')
  if (!(error instanceof RequestError)) console.error(error)
  return Response.json(lab.toEnvelope(), { status: lab.status })
}

/**
 * What Node's HTTP parser rejects before any route runs (headers too large, malformed HTTP, a
 * request too slow to arrive) gets the JSON envelope too, instead of an empty answer.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [code, message]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['HEADERS_TOO_LARGE', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['REQUEST_TIMEOUT', 'the request took too long to arrive']
        : ['BAD_REQUEST', 'the request is not valid HTTP/1.1']
  const lab = new LabError(code, message)
  const body = JSON.stringify(lab.toEnvelope())
  socket.end(
    `HTTP/1.1 ${lab.status} ${STATUS_CODES[lab.status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
