import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { z } from 'zod'
import { HarnessError } from '../errors.js'
import { scenarioSchema, type Scenario } from './schema.js'

export interface LoadedScenario {
  scenario: Scenario
  /** Where it came from, as the user would write it. */
  file: string
}

/** The `scenarios/` folder shipped with the package, found from this module whether built or not. */
export function builtInScenarioDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'scenarios'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('refresh-lab: cannot find the built-in scenarios folder')
    dir = parent
  }
  return join(dir, 'scenarios')
}

export async function builtInScenarioNames(): Promise<string[]> {
  const files = await readdir(builtInScenarioDir())
  return files
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort()
}

/**
 * Scenario names (`late-401`) or files (`./my-case.json`); every built-in scenario when none is given.
 */
export async function resolveScenarios(specs: readonly string[], cwd = process.cwd()): Promise<LoadedScenario[]> {
  const names = specs.length > 0 ? specs : await builtInScenarioNames()
  const loaded: LoadedScenario[] = []
  for (const spec of names) {
    if (spec.endsWith('.json') || spec.includes('/') || spec.includes('\\')) {
      loaded.push(await loadScenarioFile(resolve(cwd, spec), spec))
      continue
    }
    const file = join(builtInScenarioDir(), `${spec}.json`)
    if (!existsSync(file)) {
      throw new HarnessError('usage', `unknown scenario "${spec}"; built in: ${(await builtInScenarioNames()).join(', ')}`)
    }
    loaded.push(await loadScenarioFile(file, `scenarios/${spec}.json`))
  }
  return loaded
}

/** Reads and checks one scenario file; any mistake is one error naming the file, the field and what was expected. */
export async function loadScenarioFile(path: string, shownAs = relative(process.cwd(), path)): Promise<LoadedScenario> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new HarnessError('usage', `${shownAs}: ${reason}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new HarnessError('usage', `${shownAs}: not valid JSON (${(error as Error).message})`)
  }
  const parsed = scenarioSchema.safeParse(json)
  if (!parsed.success) throw new HarnessError('usage', `${shownAs}: ${describeIssue(parsed.error.issues)}`)
  return { scenario: parsed.data, file: shownAs }
}

/** Every problem in the file, each as `field: what was expected`, so one edit fixes them all. */
function describeIssue(issues: z.core.$ZodIssue[]): string {
  if (issues.length === 0) return 'invalid scenario'
  return issues
    .map((issue) => {
      const where = issue.path.reduce<string>(
        (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`),
        '',
      )
      return `${where === '' ? 'the file' : where}: ${issue.message}`
    })
    .join('; ')
}
