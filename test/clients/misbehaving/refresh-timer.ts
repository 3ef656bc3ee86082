// A correct client (the reference one) that also schedules a proactive refresh 15 minutes out,
// as apps with a timer do. The run must end right after its report, not 15 minutes later.
import type { ClientContext } from '../../../src/client/contract.js'
import { createClient as createReference } from '../../../src/client/reference.js'

export function createClient(ctx: ClientContext) {
  setInterval(() => undefined, 15 * 60 * 1000)
  return createReference(ctx)
}
