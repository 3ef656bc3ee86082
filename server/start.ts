import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { createApp } from './app.js'
import type { ServerConfig } from './config.js'
import type { Lab } from './lab.js'

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
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host }) as Server
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
  return {
    url: `http://${host}:${port}`,
    port,
    lab,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs).unref()
        server.close((error) => {
          clearTimeout(cut)
          if (error) reject(error)
          else resolve()
        })
        server.closeIdleConnections()
      }),
  }
}
