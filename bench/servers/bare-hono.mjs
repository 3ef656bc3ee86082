// The baseline: a bare Hono app on @hono/node-server answering a small JSON, nothing else.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('/json', (c) => c.json({ data: [{ id: 'usr_1', email: 'demo@example.com', name: 'demo' }] }))
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
)
process.on('SIGTERM', () => server.close(() => process.exit(0)))
