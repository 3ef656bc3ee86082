// The reference client kept as a module-level singleton, so its single-flight lock lives in a
// module variable. Within one tab that is one lock; across tabs it is not, because each browser
// tab (and each harness tab) has its own module instance. Expected in two-tabs: two refreshes,
// the second a reuse. (Before tabs were isolated, both tabs shared this module and it looked
// cross-tab safe.)
import type { Client, ClientContext } from '../../src/client/contract.js'
import { createClient as createReference } from '../../src/client/reference.js'

let shared: Client | undefined

export function createClient(ctx: ClientContext): Client {
  shared ??= createReference(ctx)
  return shared
}
