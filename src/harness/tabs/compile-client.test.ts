import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it } from 'vitest'
import { compiledClient } from './compile-client.js'

const root = mkdtempSync(join(tmpdir(), 'refresh-lab-compile-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Writes files under `root/<project>` and answers the path of the first. */
function project(name: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, name, path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  return join(root, name, Object.keys(files)[0] as string)
}

describe('compiledClient', () => {
  it('bundles the client and its own files once, keeps its packages as imports, and keeps its file name', async () => {
    const file = project('app', {
      'src/client.ts': [
        "import { answer } from './answer'",
        "import { greet } from 'greeter'",
        'export const where: string = import.meta.url',
        'export const dir: string = import.meta.dirname',
        'export function createClient(): string { return greet(answer) }',
        "export function fails(): never { throw new Error('from the client') }",
      ].join('\n'),
      'src/answer.ts': 'export const answer: number = 42\n',
      'node_modules/greeter/package.json': '{"name":"greeter","type":"module","exports":"./index.js"}',
      'node_modules/greeter/index.js': 'export const greet = (n) => `hello ${n}`\n',
    })
    const url = await compiledClient(file)
    expect(url).toBeDefined()
    expect(await compiledClient(file)).toBe(url)
    // Under the project's own node_modules, where its packages resolve from, and nowhere near its sources.
    expect(fileURLToPath(url as string).startsWith(join(realpathSync(join(root, 'app', 'node_modules')), '.cache', 'refresh-lab'))).toBe(
      true,
    )
    expect(readdirSync(join(root, 'app', 'src')).sort()).toEqual(['answer.ts', 'client.ts'])
    const module = (await import(url as string)) as { createClient: () => string; where: string; dir: string }
    expect(module.createClient()).toBe('hello 42')
    expect(module.where).toBe(pathToFileURL(file).href)
    expect(module.dir).toBe(dirname(file))
    // The inline source map sends a stack trace to the client's own file and line.
    expect(await stackOfFails(url as string)).toContain(`${file}:6:`)
  })

  it("keeps the client's file and line in stack traces when node_modules is a symlink", async () => {
    const file = project('linked', {
      'client.ts': "export const createClient = () => 1\nexport function fails(): never { throw new Error('x') }\n",
    })
    mkdirSync(join(root, 'elsewhere', 'node_modules'), { recursive: true })
    symlinkSync(join(root, 'elsewhere', 'node_modules'), join(root, 'linked', 'node_modules'))
    const url = await compiledClient(file)
    // Written where Node loads it from: the real directory.
    expect(fileURLToPath(url as string).startsWith(join(realpathSync(join(root, 'elsewhere')), 'node_modules'))).toBe(true)
    expect(await stackOfFails(url as string)).toContain(`${file}:2:`)
  })

  it('leaves to tsx what a bundle cannot reproduce: CommonJS names, a syntax error, no node_modules above', async () => {
    const commonJs = project('cjs', {
      'client.ts': "const { readFileSync } = require('node:fs')\nexport const createClient = () => readFileSync\n",
      'node_modules/.keep': '',
    })
    const dirnameUser = project('dirname', {
      'client.ts': 'export const createClient = () => __dirname\n',
      'node_modules/.keep': '',
    })
    const broken = project('broken', { 'client.ts': 'export const createClient = (: number) =>\n', 'node_modules/.keep': '' })
    // A project with no node_modules above it has nothing to resolve packages from.
    const alone = project('alone', { 'client.ts': 'export const createClient = () => 1\n' })
    const modulesAbove = (dir: string): boolean =>
      existsSync(join(dir, 'node_modules')) || (dirname(dir) !== dir && modulesAbove(dirname(dir)))
    expect(await compiledClient(commonJs)).toBeUndefined()
    expect(await compiledClient(dirnameUser)).toBeUndefined()
    expect(await compiledClient(broken)).toBeUndefined()
    if (!modulesAbove(root)) expect(await compiledClient(alone)).toBeUndefined()
  })
})

/**
 * The stack of the compiled module's `fails()`, formatted as in a tab: a worker thread with source
 * maps on, where Node formats stacks (vitest formats them its own way in this one).
 */
function stackOfFails(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tab = new Worker(
      `process.setSourceMapsEnabled(true)
      import(${JSON.stringify(url)}).then((m) => { try { m.fails() } catch (e) { require('node:worker_threads').parentPort.postMessage(e.stack) } })`,
      { eval: true },
    )
    tab.once('message', resolve)
    tab.once('error', reject)
  })
}
