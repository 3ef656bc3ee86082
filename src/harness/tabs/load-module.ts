import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CreateClient } from '../../client/contract.js'

/**
 * Loads a client module inside its tab and returns its `createClient`: the bundle compiled for
 * every tab (`compiled`, see compile-client.ts) when there is one, else the file itself through
 * tsx, so TypeScript and ESM syntax work whatever the user's package.json says. Failures are one
 * line with the file, line, column and reason: `my-client.ts:3:7: Expected ";" but found "oops"`.
 */
export async function loadClientModule(file: string, compiled?: string): Promise<CreateClient> {
  let module: ClientModule
  try {
    module = (compiled === undefined ? undefined : await importCompiled(compiled)) ?? (await importThroughTsx(file))
  } catch (error) {
    throw new Error(describeLoadError(error, file))
  }
  const fromDefault = (module.default as { createClient?: unknown } | undefined)?.createClient
  const createClient = module.createClient ?? fromDefault ?? (typeof module.default === 'function' ? module.default : undefined)
  if (typeof createClient !== 'function') {
    throw new Error('it must export a function createClient(ctx)')
  }
  return createClient as CreateClient
}

type ClientModule = { createClient?: unknown; default?: { createClient?: unknown } | unknown }

/** Errors of linking, before any of the module's code ran: loading the file through tsx instead repeats nothing. */
const LINK_ERRORS = new Set([
  'ERR_MODULE_NOT_FOUND',
  'ERR_PACKAGE_PATH_NOT_EXPORTED',
  'ERR_UNSUPPORTED_DIR_IMPORT',
  'ERR_UNKNOWN_FILE_EXTENSION',
])

/** The compiled bundle, or undefined when one of its imports does not resolve as tsx would resolve it (a tsconfig path alias). */
async function importCompiled(url: string): Promise<ClientModule | undefined> {
  // Stack traces then name the client's own file and lines, through the bundle's inline source map.
  process.setSourceMapsEnabled(true)
  try {
    return (await import(url)) as ClientModule
  } catch (error) {
    if (LINK_ERRORS.has((error as { code?: string }).code ?? '')) return undefined
    throw error
  }
}

async function importThroughTsx(file: string): Promise<ClientModule> {
  const { tsImport } = await import('tsx/esm/api')
  return (await tsImport(pathToFileURL(file).href, import.meta.url)) as ClientModule
}

/** Where a module failed to load and why, from esbuild's errors, V8's syntax errors or a throw. */
export function describeLoadError(error: unknown, file: string): string {
  const { message = String(error), stack = '', name = 'Error' } = error as { message?: string; stack?: string; name?: string }
  // tsx's esbuild: "Transform failed with 1 error:\n/abs/file.ts:3:19: ERROR: Expected identifier but found \":\""
  const esbuild = /^(\S[^\n]*?):(\d+):(\d+): ERROR: (.*)$/m.exec(message)
  // esbuild counts columns from 0.
  if (name === 'TransformError' && esbuild)
    return `${basename(esbuild[1] ?? file)}:${esbuild[2]}:${Number(esbuild[3]) + 1}: SyntaxError: ${esbuild[4]}`
  // V8 keeps a module's syntax error position out of the error; Node's syntax check prints it.
  if (name === 'SyntaxError') return `${syntaxErrorPlace(file) ?? basename(file)}: SyntaxError: ${message}`
  const frame = stackFrameIn(stack, file)
  return `${frame === undefined ? '' : `${frame}: `}${name}: ${message.split('\n')[0] ?? ''}`
}

/**
 * `file.mjs:3:33` for a JavaScript file with a syntax error: `node --check` on the source as an ES
 * module (a .cjs as CommonJS) prints the line, then a caret under the culprit.
 */
function syntaxErrorPlace(file: string): string | undefined {
  const asModule = !file.endsWith('.cjs')
  const checked = spawnSync(process.execPath, asModule ? ['--input-type=module', '--check'] : ['--check', file], {
    input: asModule ? readFileSync(file) : undefined,
    encoding: 'utf8',
    timeout: 10_000,
  })
  const place = /^(?:\[stdin\]|.*):(\d+)\n.*\n(\s*)\^/m.exec(checked.stderr ?? '')
  return place ? `${basename(file)}:${place[1]}:${(place[2]?.length ?? 0) + 1}` : undefined
}

function stackFrameIn(stack: string, file: string): string | undefined {
  const href = pathToFileURL(file).href
  for (const line of stack.split('\n')) {
    const at =
      line.indexOf(href) >= 0
        ? line.slice(line.indexOf(href) + href.length)
        : line.indexOf(file) >= 0
          ? line.slice(line.indexOf(file) + file.length)
          : undefined
    const position = at === undefined ? undefined : /^(?:\?[^:\s]*)?:(\d+):(\d+)/.exec(at) // tsx adds a ?query
    if (position) return `${basename(file)}:${position[1]}:${position[2]}`
  }
  return undefined
}
