/**
 * The lab page: one HTML file with its style and script inline, so it ships in the package and
 * needs no CDN or build step. Fed by `/_lab/events/stream`; reads counters and sessions from
 * `/_lab/stats` and `/_lab/sessions`; its buttons call the lab control API.
 */
export const LAB_PAGE_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>refresh-lab</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --fail: #b35900; --refresh: #0969da; --reuse: #cf222e; --muted: #6e7781; font-family: system-ui, sans-serif; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 1rem; max-width: 72rem; margin-inline: auto; line-height: 1.4; overflow-wrap: anywhere; }
  header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.05rem; margin: 1.25rem 0 .25rem; }
  #status { color: var(--muted); }
  .counters { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: .5rem; margin: .5rem 0; }
  .counter { border: 1px solid #8884; border-radius: .5rem; padding: .5rem .75rem; }
  .counter .value { display: block; font-size: 1.8rem; font-weight: 600; font-variant-numeric: tabular-nums; }
  .counter .label { color: var(--muted); font-size: .85rem; }
  .counter.alert .value { color: var(--reuse); }
  .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .75rem 0; }
  button { font: inherit; padding: .45rem .8rem; border-radius: .4rem; border: 1px solid #8886; background: transparent; cursor: pointer; }
  button:focus-visible { outline: 3px solid var(--refresh); outline-offset: 2px; }
  .hint { color: var(--muted); font-size: .85rem; margin: 0 0 .5rem; }
  .lane { border-left: 3px solid #8885; padding: .25rem 0 .25rem .5rem; margin: .4rem 0; }
  .lane-title { font-size: .8rem; color: var(--muted); font-family: ui-monospace, monospace; }
  .chips { display: flex; flex-wrap: wrap; gap: .25rem; margin-top: .2rem; }
  .chip { font-family: ui-monospace, monospace; font-size: .75rem; padding: .1rem .35rem; border-radius: .25rem; border: 1px solid currentColor; max-width: 100%; }
  .chip.ok { color: var(--ok); } .chip.fail { color: var(--fail); }
  .chip.refresh { color: #fff; background: var(--refresh); border-color: var(--refresh); font-weight: 600; }
  .chip.refresh.rejected { background: var(--fail); border-color: var(--fail); }
  .chip.reuse { color: #fff; background: var(--reuse); border-color: var(--reuse); font-weight: 700; }
  .chip.session { color: var(--muted); }
  .family { display: flex; align-items: center; gap: .3rem; flex-wrap: wrap; margin: .3rem 0; font-size: .85rem; }
  .generation { font-family: ui-monospace, monospace; padding: .05rem .4rem; border-radius: .25rem; border: 1px solid #8886; }
  .generation.active { border-color: var(--ok); color: var(--ok); font-weight: 600; }
  .generation.revoked { border-color: var(--reuse); color: var(--reuse); text-decoration: line-through; }
  .why { color: var(--reuse); }
</style>
</head>
<body>
<header><h1>refresh-lab</h1><span id="status" role="status">connecting…</span></header>
<main>
  <section class="counters" aria-label="Counters" aria-live="polite">
    <div class="counter"><span class="value" id="c-requests">0</span><span class="label">requests</span></div>
    <div class="counter"><span class="value" id="c-401">0</span><span class="label">401 answers</span></div>
    <div class="counter"><span class="value" id="c-refresh">0</span><span class="label">refresh calls</span></div>
    <div class="counter" id="box-reuse"><span class="value" id="c-reuse">0</span><span class="label">reuse detected</span></div>
    <div class="counter"><span class="value" id="c-revoked">0</span><span class="label">sessions revoked</span></div>
  </section>
  <section class="actions" aria-label="Lab actions">
    <button type="button" id="a-expire">Expire access tokens now</button>
    <button type="button" id="a-advance">Advance clock 35 s</button>
    <button type="button" id="a-revoke">Revoke all sessions</button>
    <button type="button" id="a-fault">Drop the next /refresh</button>
    <button type="button" id="a-reset">Reset</button>
  </section>
  <section aria-labelledby="t-title">
    <h2 id="t-title">Timeline</h2>
    <p class="hint">One lane per session, oldest first. A <span class="chip refresh">refresh</span> should sit between the 401s and the retries it unblocked; a <span class="chip reuse">reuse</span> means a rotated refresh token was spent again.</p>
    <div id="lanes"></div>
  </section>
  <section aria-labelledby="f-title">
    <h2 id="f-title">Sessions</h2>
    <p class="hint">Each session's refresh-token generations: the newest is live, earlier ones were rotated.</p>
    <div id="families"></div>
  </section>
</main>
<script type="module">
  const token = new URLSearchParams(location.search).get('lab_token')
  const auth = token ? { authorization: 'Bearer ' + token } : {}
  const api = async (path, body) => {
    const res = await fetch(path, body === undefined ? { headers: auth } : { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return res.json()
  }
  const $ = (id) => document.getElementById(id)
  const lanes = new Map()
  const MAX_LANES = 12
  const MAX_CHIPS = 80

  function lane(key) {
    let entry = lanes.get(key)
    if (entry) return entry
    const box = document.createElement('div')
    box.className = 'lane'
    box.dataset.family = key
    const title = document.createElement('div')
    title.className = 'lane-title'
    title.textContent = key === 'lab' ? 'lab actions' : 'session ' + key
    const chips = document.createElement('div')
    chips.className = 'chips'
    box.append(title, chips)
    $('lanes').append(box)
    entry = { box, chips }
    lanes.set(key, entry)
    while (lanes.size > MAX_LANES) {
      const [oldest] = lanes.keys()
      lanes.get(oldest).box.remove()
      lanes.delete(oldest)
    }
    return entry
  }

  function chip(event) {
    const el = document.createElement('span')
    el.className = 'chip'
    el.title = event.at + (event.detail ? ' — ' + event.detail : '')
    if (event.type === 'request') {
      // Drawn by their own events: a refresh, and a sign-in in its session's lane.
      if (event.route && (event.route.endsWith('/api/auth/refresh') || event.route.endsWith('/api/auth/login'))) return null
      const [method, path] = (event.route || 'unmatched').split(' ')
      el.dataset.kind = 'request'
      el.dataset.status = String(event.status)
      el.classList.add(event.status >= 400 || event.status === 0 ? 'fail' : 'ok')
      el.textContent = (method || '') + ' ' + (path || '') + ' ' + (event.status || 'dropped') + (event.code ? ' ' + event.code : '')
    } else if (event.type === 'refresh') {
      el.dataset.kind = 'refresh'
      el.classList.add('refresh')
      if (event.status !== 200) el.classList.add('rejected')
      el.textContent = '⟳ refresh ' + event.status + (event.status === 200 ? ' → gen ' + event.generation : ' ' + (event.code || ''))
    } else if (event.type === 'reuse_detected') {
      el.dataset.kind = 'reuse'
      el.classList.add('reuse')
      el.textContent = '✖ reuse of gen ' + event.generation + ' — session revoked'
    } else if (event.type === 'login' || event.type === 'logout') {
      el.dataset.kind = event.type
      el.classList.add('session')
      el.textContent = event.type === 'login' ? 'signed in' : 'signed out'
    } else {
      el.dataset.kind = event.type
      el.classList.add('session')
      el.textContent = event.type + (event.detail ? ': ' + event.detail : '')
    }
    return el
  }

  function show(event) {
    if (event.type === 'reset') {
      for (const entry of lanes.values()) entry.box.remove()
      lanes.clear()
    }
    const el = chip(event)
    if (!el) return
    const { chips } = lane(event.family || 'lab')
    chips.append(el)
    while (chips.childElementCount > MAX_CHIPS) chips.firstElementChild.remove()
  }

  let pending = null
  function refreshViews() {
    if (pending) return
    pending = setTimeout(async () => {
      pending = null
      const [stats, sessions] = await Promise.all([api('/_lab/stats'), api('/_lab/sessions')])
      const byStatus = Object.values(stats.requests || {})
      $('c-requests').textContent = byStatus.reduce((sum, s) => sum + Object.values(s).reduce((a, b) => a + b, 0), 0)
      $('c-401').textContent = byStatus.reduce((sum, s) => sum + (s['401'] || 0), 0)
      $('c-refresh').textContent = stats.refresh.calls
      $('c-reuse').textContent = stats.reuseDetected
      $('box-reuse').classList.toggle('alert', stats.reuseDetected > 0)
      $('c-revoked').textContent = stats.familiesRevoked
      drawFamilies(sessions.sessions || [])
    }, 120)
  }

  function drawFamilies(sessions) {
    const box = $('families')
    box.replaceChildren()
    for (const session of sessions.slice(-12)) {
      const row = document.createElement('div')
      row.className = 'family'
      row.dataset.family = session.id
      const name = document.createElement('span')
      name.textContent = session.id + ' (' + session.user + ')'
      row.append(name)
      for (let g = 1; g <= session.generation; g += 1) {
        const gen = document.createElement('span')
        gen.className = 'generation' + (g === session.generation ? (session.status === 'active' ? ' active' : ' revoked') : '')
        gen.textContent = 'gen ' + g
        row.append(gen)
      }
      if (session.status === 'revoked') {
        const why = document.createElement('span')
        why.className = 'why'
        why.textContent = 'revoked: ' + (session.revokedReason || '?')
        row.append(why)
      }
      box.append(row)
    }
  }

  const actions = {
    'a-expire': () => api('/_lab/expire', { tokens: 'access' }),
    'a-advance': () => api('/_lab/clock', { advance: '35s' }),
    'a-revoke': () => api('/_lab/revoke', {}),
    'a-fault': () => api('/_lab/faults', { path: '/api/auth/refresh', method: 'POST', drop: true, times: 1 }),
    'a-reset': () => api('/_lab/reset', {}),
  }
  for (const [id, act] of Object.entries(actions)) {
    $(id).addEventListener('click', async () => {
      $('status').textContent = 'working…'
      await act()
      $('status').textContent = 'live'
      refreshViews()
    })
  }

  const stream = new EventSource('/_lab/events/stream' + (token ? '?lab_token=' + encodeURIComponent(token) : ''))
  stream.addEventListener('open', () => { $('status').textContent = 'live' })
  stream.addEventListener('error', () => { $('status').textContent = 'reconnecting…' })
  stream.addEventListener('lab', (message) => {
    show(JSON.parse(message.data))
    refreshViews()
  })
  refreshViews()
</script>
</body>
</html>
`
