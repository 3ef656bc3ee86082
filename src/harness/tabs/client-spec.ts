import { existsSync, statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import type { CreateClient } from '../../client/contract.js'
import { BUILT_IN_CLIENTS } from '../../client/index.js'
import { HarnessError } from '../errors.js'

/**
 * Which client the harness drives, and how it is isolated (see docs/clients.md):
 * - `built-in` and `module`: each tab is a worker thread that loads the module;
 * - `exec`: each tab is a child process speaking newline-delimited JSON on stdin/stdout;
 * - `function`: a `createClient` handed over in-process by the programmatic API; not isolated.
 */
export type ClientSpec =
  | { kind: 'built-in'; name: string }
  | { kind: 'module'; file: string; name: string }
  | { kind: 'exec'; command: string; name: string }
  | { kind: 'function'; createClient: CreateClient; name: string }

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.js', '.cjs']

/** The built-in clients' names, for help texts and errors. */
export const builtInClientNames = (): string[] => Object.keys(BUILT_IN_CLIENTS)

/**
 * Reads `--client`: a built-in name (`reference`, `naive`, …), a module path (`./my-client.ts`)
 * or `exec:<command line>`. A missing file is a usage error that suggests the likely file.
 */
export function resolveClientSpec(spec: string | CreateClient, options: { cwd?: string; name?: string } = {}): ClientSpec {
  if (typeof spec === 'function') return { kind: 'function', createClient: spec, name: options.name ?? 'in-process' }
  if (spec.startsWith('exec:')) {
    const command = spec.slice('exec:'.length).trim()
    if (command === '') throw new HarnessError('usage', '--client exec: needs a command line, e.g. exec:python3 examples/python-client.py')
    return { kind: 'exec', command, name: options.name ?? spec }
  }
  if (Object.hasOwn(BUILT_IN_CLIENTS, spec)) return { kind: 'built-in', name: spec }
  if (!/[\\/.]/.test(spec)) {
    throw new HarnessError(
      'usage',
      `unknown client "${spec}"; use ${builtInClientNames().join(', ')}, a path such as ./my-client.ts, or exec:<command>`,
    )
  }
  const cwd = options.cwd ?? process.cwd()
  const file = resolve(cwd, spec)
  if (!isFile(file)) {
    const near = MODULE_EXTENSIONS.map((extension) => file + extension).find(isFile)
    const hint = near === undefined ? '' : ` (did you mean ./${relative(cwd, near)}?)`
    throw new HarnessError('usage', `cannot load client module ${spec}: file not found${hint}`)
  }
  return { kind: 'module', file, name: options.name ?? spec }
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile()
}
