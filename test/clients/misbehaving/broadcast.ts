// A correct client (the reference one) that keeps a BroadcastChannel open to hear other tabs'
// sign-outs, as cross-tab apps do. An open channel keeps a process alive: the run must not wait on it.
import type { ClientContext } from '../../../src/client/contract.js'
import { createClient as createReference } from '../../../src/client/reference.js'

export function createClient(ctx: ClientContext) {
  const channel = new BroadcastChannel('auth')
  channel.onmessage = () => undefined
  return createReference(ctx)
}
