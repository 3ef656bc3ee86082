import type { Hono } from 'hono'
import { ROUTES } from '../../src/shared/wire.js'
import { type AuthedEnv, requireAccessToken } from '../http/bearer.js'
import { readJson } from '../http/json-body.js'
import type { Lab } from '../lab.js'

/** Protected sample resources: what a client's authed requests hit. */
export function registerResourceRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  const requireAccess = requireAccessToken(lab)

  app.get(ROUTES.users, requireAccess, function listUsers(c) {
    return c.json({ data: lab.users.list().map(({ id, email, name }) => ({ id, email, name })) })
  })

  // Answers with the body it received, so a test can check that a retried POST kept its body.
  app.post(ROUTES.echo, requireAccess, async function echo(c) {
    return c.json({ data: { received: (await readJson(c)) ?? null } })
  })
}
