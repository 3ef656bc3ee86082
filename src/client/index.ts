/** The reference client, the contract every client implements, and the built-in clients by name. */
import type { CreateClient } from './contract.js'
import { createClient as naive } from './naive.js'
import { createClient as reference } from './reference.js'

export * from './contract.js'
export { createClient as createReferenceClient } from './reference.js'

/** Clients the harness knows by name (`--client reference`). */
export const BUILT_IN_CLIENTS: Readonly<Record<string, CreateClient>> = Object.freeze({ reference, naive })
