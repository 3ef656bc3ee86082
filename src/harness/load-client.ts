import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BUILT_IN_CLIENTS, type CreateClient } from '../client/index.js'
import { HarnessError } from './errors.js'

/** A built-in client by name (`reference`, `naive`), or the user's module by path (`./my-client.mjs`). */
export async function loadClient(spec: string, cwd = process.cwd()): Promise<CreateClient> {
  const builtIn = BUILT_IN_CLIENTS[spec]
  if (builtIn) return builtIn
  if (!/[\\/.]/.test(spec)) {
    throw new HarnessError('usage', `unknown client "${spec}"; use ${Object.keys(BUILT_IN_CLIENTS).join(', ')} or a path such as ./my-client.mjs`)
  }
  const file = resolve(cwd, spec)
  let module: { createClient?: unknown; default?: { createClient?: unknown } }
  try {
    module = (await importModule(file)) as typeof module
  } catch (error) {
    // "Not found" may be the file itself, or a package the module imports.
    const reason = existsSync(file) ? (error as Error).message.split('\n')[0] : 'file not found'
    throw new HarnessError('usage', `cannot load client module ${spec}: ${reason}`, { cause: error })
  }
  const createClient = module.createClient ?? module.default?.createClient
  if (typeof createClient !== 'function') {
    throw new HarnessError('usage', `client module ${spec} must export a function createClient(ctx)`)
  }
  return createClient as CreateClient
}

/** Imports a JavaScript module, or a TypeScript one through tsx, loaded only when needed. */
async function importModule(file: string): Promise<unknown> {
  if (/\.[cm]?ts$/.test(file)) {
    const { tsImport } = await import('tsx/esm/api')
    return tsImport(pathToFileURL(file).href, import.meta.url)
  }
  return import(pathToFileURL(file).href)
}
