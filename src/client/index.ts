/** The reference client, the contract every client implements, and the built-in clients by name. */
import type { CreateClient } from './contract.js'
import { FAULTY_CLIENTS, faultyClient } from './faulty/index.js'
import { createClient as reference } from './reference.js'

export * from './contract.js'
export { createClient as createReferenceClient } from './reference.js'
export { FAULTY_CLIENTS } from './faulty/index.js'

/** Clients the harness knows by name (`--client reference`, `--client naive`, …). */
export const BUILT_IN_CLIENTS: Readonly<Record<string, CreateClient>> = Object.freeze({
  reference,
  ...Object.fromEntries(Object.keys(FAULTY_CLIENTS).map((name) => [name, faultyClient(name) as CreateClient])),
})
