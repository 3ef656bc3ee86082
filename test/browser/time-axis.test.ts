import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runBurst } from '../../src/harness/burst.js'
import { resolveServerConfig } from '../../server/config.js'
import { MAX_FRAME_EVENTS, sseBatchFrame } from '../../server/routes/lab-page.js'
import { startServer, type RunningServer } from '../../server/start.js'
import type { LabEvent } from '../../src/shared/wire.js'
import { describeWithBrowser, launchChromium } from '../support/chromium.js'
import { runCli } from '../support/cli.js'

/**
 * The time axis, drawn by src/shared/time-axis.ts, in a real Chromium: live on the lab page during
 * bursts, and in the HTML report of `burst --html` / `run --reporter html` opened from disk.
 * UPDATE_SCREENSHOT=1 rewrites docs/time-axis.png and docs/report.png.
 */
const SCREENSHOTS = process.env['UPDATE_SCREENSHOT'] === '1'

let server: RunningServer
let browser: Browser
const problems: string[] = []

interface Drawn {
  requests: { attempts: DrawnBar[]; retries: DrawnBar[]; waitsFor: string[] }[]
  refreshes: { id: string; bar?: DrawnBar; reuse: number }[]
}
interface DrawnBar {
  start: number
  end: number
  status: string
}

/** What the axis inside `scope` draws, read from its data attributes (run in the page: no DOM types here). */
function drawn(page: Page, scope: string): Promise<Drawn> {
  return page.evaluate(`(() => {
    const root = document.querySelector(${JSON.stringify(scope)})
    const rows = [...root.querySelectorAll('.ta-row')]
    const bars = (row, kind) => [...row.querySelectorAll('.ta-bar[data-kind="' + kind + '"]')].map((bar) => ({
      start: Number(bar.dataset.start),
      end: bar.dataset.end === '' ? NaN : Number(bar.dataset.end),
      status: bar.dataset.status,
    }))
    return {
      requests: rows.filter((row) => row.dataset.rowKind === 'request').map((row) => ({
        attempts: bars(row, 'attempt'),
        retries: bars(row, 'retry'),
        waitsFor: [...row.querySelectorAll('a.ta-wait')].map((a) => a.getAttribute('href')),
      })),
      refreshes: rows.filter((row) => row.dataset.rowKind === 'refresh')
        .map((row) => ({ id: '#' + row.id, bar: bars(row, 'refresh')[0], reuse: row.querySelectorAll('[data-kind="reuse"]').length })),
    }
  })()`)
}

/** The picture of a reference burst: 10 rows, one refresh, every retry after it ended and linked to it. */
function expectOneRefreshBetween(axis: Drawn): void {
  expect(axis.requests).toHaveLength(10)
  expect(axis.refreshes).toHaveLength(1)
  const refresh = axis.refreshes[0]
  expect(refresh?.bar?.status).toBe('200')
  for (const request of axis.requests) {
    expect(request.attempts.map((a) => a.status)).toEqual(['401'])
    expect(request.retries).toHaveLength(1)
    expect(request.retries[0]?.status).toBe('200')
    expect(request.retries[0]?.start).toBeGreaterThanOrEqual(refresh?.bar?.end as number)
    expect(request.waitsFor).toEqual([refresh?.id])
  }
}

/** The picture of a naive burst: 10 rows, 10 refresh bars, a rotated token spent again marked. */
function expectTenRefreshesAndReuse(axis: Drawn): void {
  expect(axis.requests).toHaveLength(10)
  expect(axis.refreshes).toHaveLength(10)
  expect(axis.refreshes.filter((r) => r.bar?.status === '200')).toHaveLength(1)
  expect(axis.refreshes.reduce((sum, r) => sum + r.reuse, 0)).toBeGreaterThanOrEqual(1)
}

describeWithBrowser('the time axis', () => {
  beforeAll(async () => {
    server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', secret: 'axis-secret-axis-secret-axis-secret' }, {}))
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  async function openPage(width = 1100): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } })
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    return page
  }

  describe('on the lab page', () => {
    let page: Page
    beforeEach(async () => {
      problems.length = 0
      await fetch(`${server.url}/_lab/reset`, { method: 'POST' })
      page = await openPage()
      await page.goto(`${server.url}/_lab/`)
      await expect.poll(() => page.textContent('#status')).toBe('live')
    })

    const requestRows = () => page.locator('#axis .ta-row[data-row-kind="request"]').count()

    it('draws a reference burst live: 10 request rows, one refresh bar, every retry after it ends', async () => {
      expect((await runBurst({ url: server.url, client: 'reference', parallel: 10 })).verdict).toBe('pass')
      await expect.poll(() => page.locator('#axis .ta-bar[data-kind="retry"]').count()).toBe(10)
      expectOneRefreshBetween(await drawn(page, '#axis'))
      expect(await page.locator('#axis [data-kind="reuse"]').count()).toBe(0)
      if (SCREENSHOTS) await page.locator('#ax-title').locator('..').screenshot({ path: 'docs/time-axis.png' })
      expect(problems).toEqual([])
    })

    it('draws a naive burst: 10 refresh bars and the reuse mark', async () => {
      await runBurst({ url: server.url, client: 'naive', parallel: 10 })
      await expect.poll(() => page.locator('#axis .ta-row[data-row-kind="refresh"]').count()).toBe(10)
      await expect.poll(() => page.locator('#axis [data-kind="reuse"]').count()).toBe(1)
      expectTenRefreshesAndReuse(await drawn(page, '#axis'))
      expect(problems).toEqual([])
    })

    it('can be frozen, zoomed to the last burst and cleared, by keyboard', async () => {
      const unauthenticated = (n: number) => Promise.all(Array.from({ length: n }, () => fetch(`${server.url}/api/users`)))
      // Freeze: the counters go on, the axis waits.
      await page.focus('#ax-freeze')
      await page.keyboard.press('Enter')
      expect(await page.getAttribute('#ax-freeze', 'aria-pressed')).toBe('true')
      await unauthenticated(3)
      await expect.poll(() => page.textContent('#c-401')).toBe('3')
      await expect.poll(() => page.textContent('#axis-state')).toBe('frozen: 3 new events not drawn')
      expect(await requestRows()).toBe(0)
      await page.keyboard.press('Enter')
      await expect.poll(requestRows).toBe(3)
      // A second burst after a quiet second: zoomed (the default), only it is drawn.
      await new Promise((resolve) => setTimeout(resolve, 1_100))
      await unauthenticated(2)
      await expect.poll(requestRows).toBe(2)
      await page.keyboard.press('Tab') // → Zoom to the last burst
      expect(await page.evaluate('document.activeElement.id')).toBe('ax-zoom')
      await page.keyboard.press('Space')
      await expect.poll(requestRows).toBe(5)
      expect(await page.getAttribute('#ax-zoom', 'aria-pressed')).toBe('false')
      await page.keyboard.press('Tab') // → Clear
      await page.keyboard.press('Enter')
      await expect.poll(requestRows).toBe(0)
      // The axis itself is next in tab order, so the keyboard can scroll it.
      await page.keyboard.press('Tab')
      expect(await page.evaluate('document.activeElement.id')).toBe('axis')
      expect(problems).toEqual([])
    })

    it('fits a phone screen', async () => {
      await page.setViewportSize({ width: 390, height: 844 })
      await runBurst({ url: server.url, client: 'reference', parallel: 10 })
      await expect.poll(() => page.locator('#axis .ta-bar[data-kind="retry"]').count()).toBe(10)
      expect(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0)
      // Every row's label and track are on screen.
      const tracks = await page
        .locator('#axis .ta-row .ta-track')
        .evaluateAll((els) => els.map((el) => el.getBoundingClientRect().toJSON() as { left: number; right: number; width: number }))
      for (const track of tracks) {
        expect(track.left).toBeGreaterThan(0)
        expect(track.right).toBeLessThanOrEqual(390)
        expect(track.width).toBeGreaterThan(150)
      }
    })

    it('stays light with 10 000 events: draws them all, holds no more than the ring buffer (1000)', async () => {
      // Real events, from a real burst on this server, repeated to 10 000 with fresh ids and times
      // and handed to a new page as one event stream: the figure is the page's own cost, not that of
      // 10 000 HTTP calls (30 to 50 s on this loaded machine, which starved the tests beside it).
      await runBurst({ url: server.url, client: 'naive', parallel: 10 })
      const logged = ((await (await fetch(`${server.url}/_lab/events`)).json()) as { events: LabEvent[] }).events
      const real = logged.filter((event) => event.type !== 'reset') // a reset would empty the page
      const total = 10_000
      const events: LabEvent[] = []
      for (let n = 0; events.length < total; n += 1) {
        for (const event of real) {
          if (events.length >= total) break
          const id = events.length + 1
          const shift = n * 50
          const copy: LabEvent = { ...event, id, family: `${event.family ?? 'lab'}-${n}` }
          if (event.startMs !== undefined && event.endMs !== undefined) {
            copy.startMs = event.startMs + shift
            copy.endMs = event.endMs + shift
          }
          events.push(copy)
        }
      }
      // As the server sends a page that many queued events: frames of up to MAX_FRAME_EVENTS.
      const frames: string[] = ['retry: 86400000\n\n'] // no reconnect during the test
      for (let from = 0; from < total; from += MAX_FRAME_EVENTS) frames.push(sseBatchFrame(events.slice(from, from + MAX_FRAME_EVENTS)))
      const fresh = await openPage()
      // The stream is answered once the page is set to draw every call it holds, not only the last
      // burst: the figures then time the page's handling of the events, not the test's click.
      let zoomedOut!: () => void
      const ready = new Promise<void>((resolve) => (zoomedOut = resolve))
      await fresh.route(/\/_lab\/events\/stream/, async (route) => {
        await ready
        await route.fulfill({
          status: 200,
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' },
          body: frames.join(''),
        })
      })
      await fresh.goto(`${server.url}/_lab/`)
      await fresh.click('#ax-zoom')
      zoomedOut()
      const held = fresh.locator('#axis')
      await expect.poll(() => held.getAttribute('data-events-held'), { timeout: 30_000 }).toBe('1000')
      await expect.poll(() => held.getAttribute('data-last-event'), { timeout: 30_000 }).toBe(String(total))
      const drawnAt = Number(await held.getAttribute('data-drawn-at'))
      const firstEventAt = Number(await held.getAttribute('data-first-event-at'))
      const rows = await fresh.locator('#axis .ta-row').count()
      // A full redraw of what it holds, measured in the page up to the next frame (style and layout included).
      const redrawMs = (await fresh.evaluate(`new Promise((resolve) => {
        const t0 = performance.now()
        document.getElementById('ax-zoom').click()
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0))
      })`)) as number
      console.log(
        `time axis, ${total} events in ${frames.length - 1} frames of the batched stream: all drawn ${Math.round(drawnAt)} ms after navigation began, ` +
          `${Math.round(drawnAt - firstEventAt)} ms after the first event arrived ` +
          `(${rows} rows, ${await held.getAttribute('data-events-held')} events held; that draw ${await held.getAttribute('data-draw-ms')} ms); ` +
          `a full redraw to the next frame ${redrawMs.toFixed(1)} ms`,
      )
      // Bounded by the ring buffer, and every held event drawn: 1000 events of a naive burst's
      // shape (22 a burst, 10 of them refreshes) make rows of their own, none lost.
      expect(await held.getAttribute('data-events-held')).toBe('1000')
      const kept = events.slice(-1000)
      const calls = kept.filter((event) => event.type === 'request').length
      expect(rows).toBeGreaterThan(0)
      expect(await fresh.locator('#axis .ta-bar').count()).toBe(calls)
      await fresh.close()
      expect(problems).toEqual([])
    }, 120_000)
  })

  describe('in the HTML report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-html-'))

    /** Opens a report from disk and lists every request the page made. */
    async function openReport(file: string, width = 1100): Promise<{ page: Page; requests: string[] }> {
      const page = await openPage(width)
      const requests: string[] = []
      page.on('request', (request) => requests.push(request.url()))
      // Anything but the file itself would be a network request: refuse it, and it is listed above.
      await page.route(/^(?!file:)/, (route) => route.abort())
      await page.goto(pathToFileURL(file).href)
      return { page, requests }
    }

    it('burst --html: a reference burst with one refresh bar, every retry after it ends, and no network', async () => {
      problems.length = 0
      const file = join(dir, 'burst.html')
      const result = await runCli(['burst', '--html', file])
      expect(result.code).toBe(0)
      expect(result.stdout).not.toContain('timeline') // recorded for the page, not printed
      const { page, requests } = await openReport(file)
      expect(await page.textContent('.headline')).toBe('PASS: all 7 expectations hold')
      expectOneRefreshBetween(await drawn(page, '.scenario'))
      expect(await page.locator('.expectations li').count()).toBe(7)
      expect(requests).toEqual([pathToFileURL(file).href])
      await page.close()
      expect(problems).toEqual([])
    })

    it('burst --html: a naive burst with 10 refresh bars and the reuse marks, readable at 390 px', async () => {
      problems.length = 0
      const file = join(dir, 'naive.html')
      const result = await runCli(['burst', '--client', 'naive', '--html', file])
      expect(result.code).toBe(1)
      const { page, requests } = await openReport(file, 390)
      expect(await page.textContent('.headline')).toMatch(/^FAIL: 5 of 7 expectations failed/)
      const axis = await drawn(page, '.scenario')
      expectTenRefreshesAndReuse(axis)
      // The client replayed one refresh token nine times: each replay is marked.
      expect(axis.refreshes.reduce((sum, r) => sum + r.reuse, 0)).toBe(9)
      expect(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0)
      expect(requests).toEqual([pathToFileURL(file).href])
      if (SCREENSHOTS) {
        await page.setViewportSize({ width: 820, height: 600 })
        await page.screenshot({ path: 'docs/report.png', fullPage: true })
      }
      await page.close()
      expect(problems).toEqual([])
    })

    it('run --reporter html --output: a verdict table and an axis per scenario, self-contained', async () => {
      problems.length = 0
      const file = join(dir, 'run.html')
      const result = await runCli(['run', 'burst', 'late-401', '--client', 'naive', '--reporter', 'html', '--output', file])
      expect(result.code).toBe(1)
      expect(result.stdout).toContain('late-401') // the table still goes to stdout
      const html = readFileSync(file, 'utf8')
      expect(html).not.toMatch(/<script|<link|src=|url\(/i)
      const { page, requests } = await openReport(file)
      expect(await page.locator('tbody tr').count()).toBe(2)
      expect(await page.locator('tbody tr th').allTextContents()).toEqual(['burst', 'late-401'])
      expect(await page.locator('section.scenario .ta').count()).toBe(2)
      expectTenRefreshesAndReuse(await drawn(page, '#s-burst'))
      // The table links to each scenario's section, by keyboard too.
      await page.keyboard.press('Tab')
      await page.keyboard.press('Enter')
      expect(await page.evaluate('location.hash')).toBe('#s-burst')
      expect(requests).toEqual([pathToFileURL(file).href])
      await page.close()
      expect(problems).toEqual([])
    })
  })
})
