import { isIP } from 'node:net'
import type { MiddlewareHandler } from 'hono'
import { LabError } from '../../src/shared/errors.js'

/** `/_lab` and everything under it: the paths `app.use('/_lab/*')` guards, `/_lab` included. */
export function isLabPath(path: string): boolean {
  return path === '/_lab' || path.startsWith('/_lab/')
}

/**
 * Keeps web pages away from the lab API, which has no token on loopback (docs/server.md, "Lab
 * control API"; docs/reliability.md):
 * - DNS rebinding: a page at `http://evil.example:4000` whose name is made to resolve to 127.0.0.1
 *   is same-origin with the lab as far as the browser knows, but its requests carry
 *   `Host: evil.example:4000`. Such an attack always comes with a name, so the rule is about
 *   names: `localhost`, any IP address (the bound one, a LAN address with `--host 0.0.0.0`) and
 *   the `--allowed-host` names pass; any other `Host` gets 403 `HOST_NOT_ALLOWED`.
 * - Cross-site requests: a page of another origin can send a POST without a preflight (no body,
 *   or a `text/plain` one; the JSON rule in json-body.ts refuses the latter). Browsers send
 *   `Origin` with every such request, so a `/_lab` call whose `Origin` is not its own host gets
 *   403 `ORIGIN_NOT_ALLOWED`. The lab page itself is same-origin; curl and the harness send none.
 */
export function guardLabOrigin(allowedHosts: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedHosts)
  return async function labOrigin(c, next) {
    const host = (c.req.header('host') ?? new URL(c.req.url).host).toLowerCase()
    if (!hostAllowed(host, allowed)) {
      throw new LabError(
        'HOST_NOT_ALLOWED',
        `the lab API answers to localhost, IP addresses and --allowed-host names, not to "${host.slice(0, 100)}"`,
      )
    }
    const origin = c.req.header('origin')
    if (origin !== undefined && !sameHost(origin, host)) {
      throw new LabError('ORIGIN_NOT_ALLOWED', `the lab API takes no calls from another origin ("${origin.slice(0, 100)}")`)
    }
    await next()
  }
}

/** The name of a `Host` value (`name`, `name:port`, `[v6]:port`) is localhost, an IP address or allowed. */
function hostAllowed(host: string, allowed: ReadonlySet<string>): boolean {
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(host)
  if (v6) return isIP(v6[1] as string) === 6
  const name = /^([^:]+)(?::\d{1,5})?$/.exec(host)?.[1]
  if (name === undefined) return false
  return name === 'localhost' || isIP(name) === 4 || allowed.has(name)
}

/** Whether an `Origin` names the same host and port as the request's `Host`. */
function sameHost(origin: string, host: string): boolean {
  let url: URL
  try {
    url = new URL(origin) // "null" (a sandboxed frame, a file: page) throws: not the same host
  } catch {
    return false
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  if (url.host === host) return true
  const defaultPort = url.protocol === 'https:' ? '443' : '80'
  return url.port === '' && host === `${url.hostname}:${defaultPort}`
}
