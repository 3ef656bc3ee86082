import { LabApi } from './harness/lab-api.js'
import { type LabControls, type LabOptions, labControls } from './start-lab.js'

/** The base URL `createLab` answers as, unless `issuer` says otherwise: a loopback name, so `/_lab/*` answers. */
const IN_PROCESS_URL = 'http://localhost'

export interface InProcessLab {
  /** `http://localhost`: the issuer of its tokens, and the base that relative paths given to `fetch` resolve against. */
  readonly url: string
  /**
   * Answers a request as the lab server would, with no socket. Give it a `Request` (what MSW's
   * resolver has) or, like the global `fetch`, a URL or a path such as `'/_lab/stats'` and an init.
   * A request to `/_lab/*` must carry a loopback Host (`localhost` or an IP address) or one of the
   * `allowedHosts`, as on a real server; a fault that drops the connection rejects with a `TypeError`,
   * as `fetch` does when a connection closes without an answer.
   */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>
  /**
   * The lab's control, typed as on `startLab`'s result (`clock.advance`, `stats`, `reset`, `expire`,
   * `fault`, …), sent through `fetch` above: no socket, and nothing for MSW to intercept.
   */
  readonly lab: LabControls
  /** Closes the lab's state (its `dataDir`, when it has one); idempotent. */
  stop(): Promise<void>
}

/**
 * The lab in your test process without a port: its `fetch` handler, for MSW or a test that calls it
 * directly, and `lab`, the same typed control `startLab` gives. Options are those of `startLab`;
 * `host` and `port` mean nothing here.
 *
 * @example
 * import { http } from 'msw'
 * import { setupServer } from 'msw/node'
 * const { fetch: labFetch, lab, stop } = await createLab({ accessTtl: '30s' })
 * const server = setupServer(http.all('http://localhost/*', ({ request }) => labFetch(request)))
 * server.listen()
 * await lab.clock.advance('35s')
 * expect((await lab.stats()).refresh.calls).toBe(1)
 */
export async function createLab(options: LabOptions = {}): Promise<InProcessLab> {
  const [{ resolveServerConfig }, { createApp }, { DROPPED_HEADER }, { sweepQuietly }] = await Promise.all([
    import('../server/config.js'),
    import('../server/app.js'),
    import('../server/http/inject-faults.js'),
    import('../server/lab.js'),
  ])
  const config = resolveServerConfig({ host: '127.0.0.1', port: 0, ...options }, {})
  const { app, lab } = createApp(config)
  // A bad key or an unusable data dir fails here, as startLab fails before it listens.
  await lab.ready.catch((error: unknown) => {
    lab.close()
    throw error
  })
  const url = IN_PROCESS_URL
  lab.tokens.issuer = config.issuer ?? url
  // As startServer does: ended sessions are forgotten an hour later, also in a long test run.
  const sweeper = setInterval(() => sweepQuietly(lab), 60_000).unref()
  let stopped = false
  // No `this` inside: the result can be destructured (`const { fetch, lab, stop } = …`).
  const handle = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    if (stopped) throw new TypeError('refresh-lab: this lab was stopped')
    const request =
      input instanceof Request ? (init === undefined ? input : new Request(input, init)) : new Request(new URL(input, url), init)
    const response = await app.fetch(request)
    if (response.headers.has(DROPPED_HEADER))
      throw new TypeError('fetch failed', { cause: new Error('refresh-lab: connection dropped by a lab fault') })
    return response
  }
  // The typed control is startLab's own (src/start-lab.ts), sending through the handler instead of a socket.
  const api = new LabApi(url, options.labToken, handle)
  return {
    url,
    fetch: handle,
    lab: labControls(api),
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(sweeper)
      await api.close()
      lab.close()
    },
  }
}
