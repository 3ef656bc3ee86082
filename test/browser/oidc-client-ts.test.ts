import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { resolveServerConfig } from '../../server/config.js'
import { startServer, type RunningServer } from '../../server/start.js'
import type { LabEventsPage, LabStats } from '../../src/shared/wire.js'
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

describeWithBrowser('oidc-client-ts in Chromium', () => {
  let lab: RunningServer
  let app: Server
  let appUrl: string
  let browser: Browser

  beforeAll(async () => {
    app = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path === '/oidc-client-ts.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(LIBRARY)
      res.writeHead(200, { 'content-type': 'text/html' }).end(appPage(lab.url, appUrl))
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
    lab = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', alg: 'ES256', accessTtl: '3s', cors: [appUrl] }, {}))
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await lab?.close()
    await new Promise((resolve) => app?.close(resolve))
  })

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
