// A client that reads its session from storage once, when it is created, as many apps do at
// start-up (a token in memory, read from SecureStore or localStorage on launch). It is correct
// only if the harness signs in before createClient, as docs/clients.md promises.
import { ApiError, type ClientContext } from '../../src/client/contract.js'
import { createClient as createReference } from '../../src/client/reference.js'

export function createClient(ctx: ClientContext) {
  const session = ctx.storage.load()
  const client = createReference(ctx)
  return {
    async request(method: string, path: string, body?: unknown) {
      const { accessToken } = await session
      if (accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'no session when the client started')
      return client.request(method, path, body)
    },
  }
}
