/**
 * The lab page's script (`index.html` beside it), run by the browser as an ES module. Fed by the
 * event stream; reads counters and sessions from the lab API; its buttons call the lab control
 * API. Checked against `src/shared/wire.ts` by its own tsconfig (DOM lib), so a renamed route or
 * event type fails the typecheck.
 */
import { axisFromLabEvents, drawTimeAxis, lastBurst, TIME_AXIS_CSS } from '../../src/shared/time-axis.js'
import { LAB_PAGE_ROUTES, ROUTES, type LabEvent, type LabSession, type LabStats } from '../../src/shared/wire.js'

const MAX_LANES = 12
const MAX_CHIPS = 80
/** Events the time axis holds: as many as the server's event log keeps (its ring buffer), never more. */
const MAX_HELD = 1_000
const AXIS_REDRAW_MS = 150
const REFRESH_ROUTES = [`POST ${ROUTES.refresh}`, `POST ${ROUTES.oauthToken}`]

const token = new URLSearchParams(location.search).get('lab_token')
const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}

/** A lab API call; rejects with the server's error code and message when it does not answer 2xx. */
async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(
    path,
    body === undefined
      ? { headers: auth }
      : { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) },
  )
  const answer = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null
  if (!res.ok) {
    const detail = answer?.error ? `${answer.error.code ?? '?'}: ${answer.error.message ?? ''}` : `HTTP ${res.status}`
    throw new Error(`${path} failed (${detail})`)
  }
  return answer as T
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id)
  if (!found) throw new Error(`the lab page has no #${id}`)
  return found
}

/** Says what went wrong where the user looks, instead of an unhandled rejection in the console. */
function showProblem(error: unknown): void {
  element('problem').textContent = error instanceof Error ? error.message : String(error)
}

interface Lane {
  box: HTMLElement
  chips: HTMLElement
}
const lanes = new Map<string, Lane>()

function lane(key: string): Lane {
  const existing = lanes.get(key)
  if (existing) return existing
  const box = document.createElement('div')
  box.className = 'lane'
  box.dataset['family'] = key
  const title = document.createElement('div')
  title.className = 'lane-title'
  title.textContent = key === 'lab' ? 'lab actions' : `session ${key}`
  const chips = document.createElement('div')
  chips.className = 'chips'
  box.append(title, chips)
  element('lanes').append(box)
  const entry = { box, chips }
  lanes.set(key, entry)
  for (const [oldest, old] of lanes) {
    if (lanes.size <= MAX_LANES) break
    old.box.remove()
    lanes.delete(oldest)
  }
  return entry
}

function chip(event: LabEvent): HTMLElement | null {
  const el = document.createElement('span')
  el.className = 'chip'
  el.title = event.at + (event.detail ? ` — ${event.detail}` : '')
  switch (event.type) {
    case 'request': {
      // Drawn by their own events: a refresh, and a sign-in in its session's lane.
      if (event.route?.endsWith(ROUTES.refresh) || event.route?.endsWith(ROUTES.login)) return null
      const [method = '', path = ''] = (event.route ?? 'unmatched').split(' ')
      const status = event.status ?? 0
      el.dataset['kind'] = 'request'
      el.dataset['status'] = String(status)
      el.classList.add(status >= 400 || status === 0 ? 'fail' : 'ok')
      el.textContent = `${method} ${path} ${status || 'dropped'}${event.code ? ` ${event.code}` : ''}`
      break
    }
    case 'refresh':
      el.dataset['kind'] = 'refresh'
      el.classList.add('refresh')
      if (event.status !== 200) el.classList.add('rejected')
      el.textContent = `⟳ refresh ${event.status ?? '?'}${event.status === 200 ? ` → gen ${event.generation ?? '?'}` : ` ${event.code ?? ''}`}`
      break
    case 'reuse_detected':
      el.dataset['kind'] = 'reuse'
      el.classList.add('reuse')
      el.textContent = `✖ reuse of gen ${event.generation ?? '?'} — session revoked`
      break
    case 'login':
    case 'logout':
      el.dataset['kind'] = event.type
      el.classList.add('session')
      el.textContent = event.type === 'login' ? 'signed in' : 'signed out'
      break
    default:
      el.dataset['kind'] = event.type
      el.classList.add('session')
      el.textContent = event.type + (event.detail ? `: ${event.detail}` : '')
  }
  return el
}

/** The time axis: the events it draws (at most MAX_HELD), and its controls' state. */
const axis = { held: [] as LabEvent[], frozen: false, zoomed: true, unseen: 0, scheduled: false, lastDrawMs: 0 }

function hold(event: LabEvent): void {
  if (event.type === 'reset') axis.held.length = 0
  axis.held.push(event)
  // Dropped in batches, so a long stream costs one copy per hundred events rather than one each.
  if (axis.held.length > MAX_HELD + 100) axis.held.splice(0, axis.held.length - MAX_HELD)
  if (axis.frozen) axis.unseen += 1
  drawAxisSoon()
}

/**
 * Redraws at most every AXIS_REDRAW_MS (then on the next frame), however fast events arrive, so a
 * flood of events costs a few draws a second rather than one per frame; none while frozen.
 */
function drawAxisSoon(): void {
  if (axis.frozen) {
    element('axis-state').textContent = `frozen: ${axis.unseen} new event${axis.unseen === 1 ? '' : 's'} not drawn`
    return
  }
  if (axis.scheduled) return
  axis.scheduled = true
  // A draw that took long waits longer before the next, so the page keeps time for its events.
  setTimeout(
    () => {
      requestAnimationFrame(() => {
        axis.scheduled = false
        if (!axis.frozen) drawAxis()
      })
    },
    Math.max(AXIS_REDRAW_MS, 2 * axis.lastDrawMs),
  )
}

function drawAxis(): void {
  const started = performance.now()
  if (axis.held.length > MAX_HELD) axis.held.splice(0, axis.held.length - MAX_HELD)
  const rows = axisFromLabEvents(axis.held, REFRESH_ROUTES)
  const window = axis.zoomed ? lastBurst(rows) : undefined
  const box = element('axis')
  box.innerHTML = drawTimeAxis(rows, { ...(window ? { window } : {}), idPrefix: 'call-', label: 'Calls on a time axis' })
  box.dataset['eventsHeld'] = String(axis.held.length)
  box.dataset['lastEvent'] = String(axis.held.at(-1)?.id ?? 0)
  axis.lastDrawMs = performance.now() - started
  box.dataset['drawMs'] = axis.lastDrawMs.toFixed(1)
  // When, after the page was opened, the axis was last drawn: the performance test reads it.
  box.dataset['drawnAt'] = performance.now().toFixed(0)
  element('axis-state').textContent = axis.frozen
    ? `frozen${axis.unseen > 0 ? `: ${axis.unseen} new event${axis.unseen === 1 ? '' : 's'} not drawn` : ''}`
    : `${axis.zoomed ? 'the last burst' : 'every call held'}, live`
}

function setUpAxis(): void {
  const style = document.createElement('style')
  style.textContent = TIME_AXIS_CSS
  document.head.append(style)
  const freeze = element('ax-freeze')
  const zoom = element('ax-zoom')
  freeze.addEventListener('click', () => {
    axis.frozen = !axis.frozen
    axis.unseen = 0
    freeze.setAttribute('aria-pressed', String(axis.frozen))
    freeze.textContent = axis.frozen ? 'Follow live' : 'Freeze'
    drawAxis()
  })
  zoom.addEventListener('click', () => {
    axis.zoomed = !axis.zoomed
    zoom.setAttribute('aria-pressed', String(axis.zoomed))
    drawAxis()
  })
  element('ax-clear').addEventListener('click', () => {
    axis.held.length = 0
    axis.unseen = 0
    drawAxis()
  })
  drawAxis()
}

function show(event: LabEvent): void {
  if (event.type === 'reset') {
    for (const entry of lanes.values()) entry.box.remove()
    lanes.clear()
  }
  const el = chip(event)
  if (!el) return
  const { chips } = lane(event.family ?? 'lab')
  chips.append(el)
  while (chips.childElementCount > MAX_CHIPS) chips.firstElementChild?.remove()
}

/**
 * Events received and not yet shown, taken in one batch SHOW_BATCH_MS after the first: the browser
 * hands each event over in a task of its own, so a flood would otherwise cost a pass per event.
 */
const SHOW_BATCH_MS = 40
const incoming: LabEvent[] = []

function receive(event: LabEvent): void {
  // When the first event arrived, after the page was opened: the performance test reads it.
  const box = element('axis')
  if (box.dataset['firstEventAt'] === undefined) box.dataset['firstEventAt'] = performance.now().toFixed(0)
  incoming.push(event)
  if (incoming.length === 1) setTimeout(showIncoming, SHOW_BATCH_MS)
}

function showIncoming(): void {
  const batch = incoming.splice(0)
  for (const event of batch) hold(event)
  // The lanes keep MAX_CHIPS chips in each of MAX_LANES lanes: of a flood, only the newest events
  // can still be on screen once it is drawn, so the older ones are not made into chips at all.
  const reset = batch.findLastIndex((event) => event.type === 'reset')
  const from = Math.max(0, batch.length - MAX_LANES * MAX_CHIPS)
  if (reset >= 0 && reset < from) show(batch[reset] as LabEvent)
  for (let i = Math.max(from, reset); i < batch.length; i += 1) show(batch[i] as LabEvent)
  refreshViews()
}

let pending: ReturnType<typeof setTimeout> | undefined
/** Redraws the counters and sessions at most every 120 ms, however fast events arrive. */
function refreshViews(): void {
  if (pending !== undefined) return
  pending = setTimeout(() => {
    pending = undefined
    drawViews().catch(showProblem)
  }, 120)
}

async function drawViews(): Promise<void> {
  const [stats, sessions] = await Promise.all([api<LabStats>(ROUTES.labStats), api<{ sessions: LabSession[] }>(ROUTES.labSessions)])
  const byStatus = Object.values(stats.requests)
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)
  element('c-requests').textContent = String(byStatus.reduce((total, counts) => total + sum(counts), 0))
  element('c-401').textContent = String(byStatus.reduce((total, counts) => total + (counts['401'] ?? 0), 0))
  element('c-refresh').textContent = String(stats.refresh.calls)
  element('c-reuse').textContent = String(stats.reuseDetected)
  element('box-reuse').classList.toggle('alert', stats.reuseDetected > 0)
  element('c-revoked').textContent = String(stats.familiesRevoked)
  drawFamilies(sessions.sessions)
}

function drawFamilies(sessions: readonly LabSession[]): void {
  const box = element('families')
  box.replaceChildren()
  for (const session of sessions.slice(-12)) {
    const row = document.createElement('div')
    row.className = 'family'
    row.dataset['family'] = session.id
    const name = document.createElement('span')
    name.textContent = `${session.id} (${session.user})`
    row.append(name)
    for (let g = 1; g <= session.generation; g += 1) {
      const gen = document.createElement('span')
      gen.className = `generation${g === session.generation ? (session.status === 'active' ? ' active' : ' revoked') : ''}`
      gen.textContent = `gen ${g}`
      row.append(gen)
    }
    if (session.status === 'revoked') {
      const why = document.createElement('span')
      why.className = 'why'
      why.textContent = `revoked: ${session.revokedReason ?? '?'}`
      row.append(why)
    }
    box.append(row)
  }
}

const actions: Record<string, () => Promise<unknown>> = {
  'a-expire': () => api(ROUTES.labExpire, { tokens: 'access' }),
  'a-advance': () => api(ROUTES.labClock, { advance: '35s' }),
  'a-revoke': () => api(ROUTES.labRevoke, {}),
  'a-fault': () => api(ROUTES.labFaults, { path: ROUTES.refresh, method: 'POST', drop: true, times: 1 }),
  'a-reset': () => api(ROUTES.labReset, {}),
}
for (const [id, act] of Object.entries(actions)) {
  element(id).addEventListener('click', async () => {
    element('status').textContent = 'working…'
    element('problem').textContent = ''
    try {
      await act()
    } catch (error) {
      showProblem(error)
    } finally {
      element('status').textContent = 'live'
      refreshViews()
    }
  })
}

setUpAxis()

// In batches (`event: labs`, an array): one message for every event queued, so a flood costs the
// browser a few dispatches rather than one per event.
const stream = new EventSource(`${LAB_PAGE_ROUTES.eventStream}?batch=1${token ? `&lab_token=${encodeURIComponent(token)}` : ''}`)
stream.addEventListener('open', () => {
  element('status').textContent = 'live'
})
stream.addEventListener('error', () => {
  element('status').textContent = 'reconnecting…'
})
stream.addEventListener('labs', (message) => {
  for (const event of JSON.parse((message as MessageEvent<string>).data) as LabEvent[]) receive(event)
})
refreshViews()
