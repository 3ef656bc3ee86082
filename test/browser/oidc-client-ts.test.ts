import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { resolveServerConfig } from '../../server/config.js'
import { startServer, type RunningServer } from '../../server/start.js'
import type { LabEventsPage, LabSession, LabStats } from '../../src/shared/wire.js'
import { describeWithBrowser, launchChromium } from '../support/chromium.js'

/**
 * oidc-client-ts, the library behind react-oidc-context, in a real page in Chromium: signinRedirect
 * to the lab's /oauth/authorize, the callback, then automaticSilentRenew with the refresh token and
 * a 3-second access token. What must hold, from its docs: it renews when the access token is about
 * to expire (accessTokenExpiringNotificationTimeInSeconds before), with the refresh token it was
 * last given, so every refresh the lab sees succeeds, none is a reuse, and the page saw as many
 * renewals as the lab counted refreshes.
 */

// Its browser bundle (a script defining the global `oidc`), which the package's exports map does not name.
const LIBRARY = readFileSync(new URL('../../node_modules/oidc-client-ts/dist/browser/oidc-client-ts.js', import.meta.url), 'utf8')

/** The app's pages: one that signs in and renews, one that completes the redirect. */
function appPage(lab: string, app: string): string {
  return `<!doctype html><meta charset="utf-8"><script src="/oidc-client-ts.js"></script><script>
const manager = new oidc.UserManager({
  authority: ${JSON.stringify(lab)},
  client_id: 'refresh-lab-client',
  redirect_uri: ${JSON.stringify(`${app}/callback`)},
  scope: 'openid email offline_access',
  automaticSilentRenew: true,
  accessTokenExpiringNotificationTimeInSeconds: 1,
  userStore: new oidc.WebStorageStateStore({ store: window.localStorage }),
})
window.renewals = 0
window.renewErrors = []
window.refreshTokens = []
manager.events.addUserLoaded((user) => { window.renewals += 1; window.refreshTokens.push(user.refresh_token) })
manager.events.addSilentRenewError((error) => window.renewErrors.push(String(error)))
window.manager = manager
</script>`
}

/** The app's page on a server of its own, a lab whose access tokens live `accessTtl`, and Chromium. */
async function startAppAndLab(accessTtl: string) {
  let lab: RunningServer | undefined
  let appUrl = ''
  const app: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/oidc-client-ts.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(LIBRARY)
    res.writeHead(200, { 'content-type': 'text/html' }).end(appPage(lab?.url ?? '', appUrl))
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  lab = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', alg: 'ES256', accessTtl, cors: [appUrl] }, {}))
  const browser = await launchChromium()
  const running = lab
  const stop = async () => {
    await browser.close()
    await running.close()
    await new Promise((resolve) => app.close(resolve))
  }
  return { lab: running, appUrl, browser, stop }
}

describeWithBrowser('oidc-client-ts in Chromium', () => {
  let lab: RunningServer
  let appUrl: string
  let browser: Browser
  let stop: () => Promise<void>

  beforeAll(async () => {
    ;({ lab, appUrl, browser, stop } = await startAppAndLab('3s'))
  }, 60_000)

  afterAll(() => stop?.())

  it('signs in with signinRedirect, then renews silently once per expiry with the rotated refresh token, never a reuse', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(`${appUrl}/`)
    // Not awaited inside the page: signinRedirect navigates away, which ends the evaluation.
    await page.evaluate(() => {
      void (globalThis as unknown as { manager: { signinRedirect(): Promise<void> } }).manager.signinRedirect()
    })
    await page.waitForURL(/\/callback\?/)
    const profile = await page.evaluate(async () => {
      const user = await (
        globalThis as unknown as { manager: { signinRedirectCallback(): Promise<{ profile: { sub: string; email: string } }> } }
      ).manager.signinRedirectCallback()
      return user.profile
    })
    expect(profile).toMatchObject({ sub: 'usr_1', email: 'demo@example.com' })
    // signinRedirectCallback loaded the user once; each silent renewal loads it again.
    const state = () =>
      page.evaluate(() => {
        const w = globalThis as unknown as { renewals: number; renewErrors: string[]; refreshTokens: string[] }
        return { renewals: w.renewals, errors: w.renewErrors, tokens: w.refreshTokens }
      })
    await expect.poll(async () => (await state()).renewals, { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(4)
    const seen = await state()
    const stats = (await (await fetch(`${lab.url}/_lab/stats`)).json()) as LabStats
    expect(seen.errors).toEqual([])
    expect(problems).toEqual([])
    expect(stats.reuseDetected).toBe(0)
    expect(stats.refresh.rejected).toBe(0)
    // Every renewal the page saw was one refresh at the lab, each with a new refresh token.
    expect(stats.refresh.succeeded).toBeGreaterThanOrEqual(seen.renewals - 1)
    expect(stats.refresh.succeeded).toBeLessThanOrEqual(seen.renewals)
    expect(new Set(seen.tokens).size).toBe(seen.tokens.length)
    // One refresh per expiry: each spends the generation the one before it issued, and none comes
    // sooner than the 3 s token's 2 s before expiry-notice (a renewal loop would; load only delays).
    const { events } = (await (await fetch(`${lab.url}/_lab/events`)).json()) as LabEventsPage
    const refreshes = events.filter((event) => event.type === 'refresh' && event.status === 200)
    expect(refreshes.map((event) => event.generation)).toEqual(refreshes.map((_, index) => index + 2))
    const gaps = refreshes.slice(1).map((event, index) => Date.parse(event.at) - Date.parse(refreshes[index]?.at as string))
    expect(gaps.filter((gap) => gap < 1_000)).toEqual([])
  })
})

/**
 * Two tabs of the same app: two pages of one browser context, sharing the user in localStorage, both
 * with automaticSilentRenew (authts/oidc-client-ts#430). What its source (3.5) says will happen:
 * - It has no cross-tab lock (no navigator.locks, no storage listener), but it keeps no refresh token
 *   in memory either: `signinSilent` reads the user from the userStore when it starts, and writes the
 *   answer back after the round trip. A tab that renews after the other tab's answer is stored spends
 *   the newest token: no reuse, just one more refresh. Two tabs collide only when the second reads the
 *   store inside the first one's round trip.
 * - Their timers do line up: each arms its expiring timer for the stored user's `expires_at` minus the
 *   notice, in whole epoch seconds, so two tabs that loaded the same user fire in the same second.
 * So a round trip longer than that second makes the collision certain: the lab holds the first
 * refresh 4 s (`/_lab/faults` delay, as a slow network would), the other tab's refresh goes straight
 * through and rotates, then the held one arrives with the rotated token. Predicted, and asserted:
 * with rotation and no grace, that is a reuse: the lab revokes the session, the tab that lost gets
 * an error from the token endpoint (REFRESH_TOKEN_REUSED), the other tab's next renewal fails too
 * (REFRESH_TOKEN_REVOKED). With a 10 s reuse grace it is forgiven
 * (a grace reuse answered with the token the other tab already got): no reuse, the session lives,
 * no renewal error. Waits are bounded polls; no timing is a pass condition.
 */
describeWithBrowser('oidc-client-ts in two tabs of one app', () => {
  let lab: RunningServer
  let appUrl: string
  let browser: Browser
  let stop: () => Promise<void>

  beforeAll(async () => {
    // 10 s access tokens: time to open the second tab before the first renewal is due.
    ;({ lab, appUrl, browser, stop } = await startAppAndLab('10s'))
  }, 60_000)

  afterAll(() => stop?.())

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${lab.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.status, `${path} ${await res.clone().text()}`).toBeLessThan(300)
  }
  const labStats = async () => (await (await fetch(`${lab.url}/_lab/stats`)).json()) as LabStats
  const labSessions = async () => ((await (await fetch(`${lab.url}/_lab/sessions`)).json()) as { sessions: LabSession[] }).sessions

  type Tab = { renewals: number; errors: string[]; tokens: string[] }
  const tabState = (page: Page) =>
    page.evaluate(() => {
      const w = globalThis as unknown as { renewals: number; renewErrors: string[]; refreshTokens: string[] }
      return { renewals: w.renewals, errors: w.renewErrors, tokens: w.refreshTokens } as Tab
    })

  /** Signs in in one tab, opens the second (which loads the stored user), then holds the first refresh. */
  async function twoTabs(reuseGrace: string): Promise<{ first: Page; second: Page; problems: string[] }> {
    await post('/_lab/reset', {})
    await post('/_lab/config', { reuseGrace })
    const context = await browser.newContext()
    const problems: string[] = []
    const first = await context.newPage()
    first.on('pageerror', (error) => problems.push(error.message))
    await first.goto(`${appUrl}/`)
    await first.evaluate(() => {
      void (globalThis as unknown as { manager: { signinRedirect(): Promise<void> } }).manager.signinRedirect()
    })
    await first.waitForURL(/\/callback\?/)
    await first.evaluate(async () => {
      await (globalThis as unknown as { manager: { signinRedirectCallback(): Promise<unknown> } }).manager.signinRedirectCallback()
    })
    const second = await context.newPage()
    second.on('pageerror', (error) => problems.push(error.message))
    await second.goto(`${appUrl}/`)
    // The second tab found the first tab's user in the shared localStorage and armed its renewal timer.
    const shared = await second.evaluate(async () => {
      const user = await (globalThis as unknown as { manager: { getUser(): Promise<{ refresh_token?: string } | null> } }).manager.getUser()
      return user?.refresh_token
    })
    expect(shared).toEqual((await tabState(first)).tokens[0])
    const { token_endpoint } = (await (await fetch(`${lab.url}/.well-known/openid-configuration`)).json()) as { token_endpoint: string }
    // Sign-in is done, so the next token call is the first renewal: the lab holds it 4 s.
    await post('/_lab/faults', { path: new URL(token_endpoint).pathname, method: 'POST', delay: '4s', times: 1 })
    return { first, second, problems }
  }

  it('without a reuse grace, the two tabs spend the same refresh token: reuse detected, session revoked, both tabs fail', async () => {
    const { first, second, problems } = await twoTabs('0s')
    await expect
      .poll(async () => (await labSessions()).map((session) => session.status), { timeout: 30_000, interval: 250 })
      .toEqual(['revoked'])
    // The tab whose refresh lost fails at once (REFRESH_TOKEN_REUSED); the winner's next renewal (the revoked
    // session's newest token) fails too.
    await expect
      .poll(async () => [(await tabState(first)).errors.length > 0, (await tabState(second)).errors.length > 0], {
        timeout: 30_000,
        interval: 250,
      })
      .toEqual([true, true])
    const stats = await labStats()
    expect(stats.reuseDetected).toBe(1)
    expect(stats.refresh.graceReuses).toBe(0)
    expect(stats.refresh.succeeded).toBe(1)
    // The held refresh (a reuse) and the winner's next one (its session revoked); then neither tab renews.
    expect(stats.refresh.calls).toBe(3)
    expect(stats.refresh.rejectedByCode).toEqual({ REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: 1 })
    const [session] = await labSessions()
    expect(session?.revokedReason).toMatch(/reuse/i)
    const errors = [...(await tabState(first)).errors, ...(await tabState(second)).errors]
    expect(
      errors.every((error) => /REFRESH_TOKEN_(REUSED|REVOKED)/.test(error)),
      errors.join('\n'),
    ).toBe(true)
    expect(problems).toEqual([])
  })

  it('with a 10 s reuse grace, the second refresh is forgiven: no reuse, the session lives, both tabs renewed', async () => {
    const { first, second, problems } = await twoTabs('10s')
    // Each tab loads a renewed user (1 from sign-in or page load, +1 per renewal).
    await expect
      .poll(async () => [(await tabState(first)).renewals >= 2, (await tabState(second)).renewals >= 1], { timeout: 30_000, interval: 250 })
      .toEqual([true, true])
    await expect.poll(async () => (await labStats()).refresh.graceReuses, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1)
    const stats = await labStats()
    expect(stats.reuseDetected).toBe(0)
    expect(stats.refresh.rejected).toBe(0)
    expect((await labSessions()).map((session) => session.status)).toEqual(['active'])
    expect((await tabState(first)).errors).toEqual([])
    expect((await tabState(second)).errors).toEqual([])
    // `--grace-returns existing`: the forgiven tab got the very token the other tab's refresh issued.
    const renewed = [(await tabState(first)).tokens[1], (await tabState(second)).tokens[0]]
    expect(renewed[0]).toBeDefined()
    expect(renewed[0]).toBe(renewed[1])
    expect(problems).toEqual([])
  })
})
