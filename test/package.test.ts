import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface PackedFile {
  path: string
}

/**
 * The published package, as a user gets it: `npm pack`, then an install into an empty project.
 * `--ignore-scripts` because the global setup already built dist/ (and other test files run it).
 */
describe('the npm package', () => {
  let tarball: string
  let files: string[]

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-pack-'))
    const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir])
    const [packed] = JSON.parse(stdout) as { filename: string; files: PackedFile[] }[]
    if (!packed) throw new Error('npm pack printed nothing')
    tarball = join(dir, packed.filename)
    files = packed.files.map((f) => f.path)
  }, 60_000)

  it('holds compiled JS, types, the scenarios, the docs and examples the README links to, and nothing else', () => {
    const unexpected = files.filter(
      (path) =>
        !/^dist\/(src|server)\/.+\.(js|d\.ts)$/.test(path) &&
        !/^scenarios\/[a-z0-9-]+\.json$/.test(path) &&
        !/^docs\/[a-z-]+\.md$/.test(path) &&
        !/^examples\/[a-z-]+\.(ts|py|yml)$/.test(path) &&
        !['README.md', 'LICENSE', 'package.json', 'bin/refresh-lab', 'scenarios/README.md'].includes(path),
    )
    expect(unexpected).toEqual([])
    expect(files).toEqual(expect.arrayContaining(['docs/clients.md', 'docs/design.md', 'examples/python-client.py', 'examples/github-workflow.yml']))
    const compiled = files.filter((path) => path.startsWith('dist/'))
    expect(compiled.some((path) => path.endsWith('.test.js') || path.endsWith('.map') || (path.endsWith('.ts') && !path.endsWith('.d.ts')))).toBe(false)
    expect(files).toEqual(expect.arrayContaining(['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/client/index.d.ts', 'scenarios/burst.json']))
  })

  it('installs into a fresh project, where npx refresh-lab burst and import { startLab } work', async () => {
    const project = mkdtempSync(join(tmpdir(), 'refresh-lab-user-'))
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }))
    await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project })

    const burst = await run('npx', ['--no-install', 'refresh-lab', 'burst', '--parallel', '10', '--json'], { cwd: project })
    expect(JSON.parse(burst.stdout)).toMatchObject({ verdict: 'pass', refresh: { serverCalls: 1 } })

    writeFileSync(
      join(project, 'lab.mjs'),
      [
        "import { startLab } from 'refresh-lab'",
        "import { createReferenceClient } from 'refresh-lab/client'",
        "import { runScenarios, resolveScenarios } from 'refresh-lab/harness'",
        "const lab = await startLab({ accessTtl: '30s' })",
        "const report = await runScenarios({ url: lab.url, createClient: createReferenceClient, clientName: 'reference', scenarios: await resolveScenarios(['burst', 'late-401']) })",
        'await lab.stop()',
        'console.log(JSON.stringify(report.summary))',
      ].join('\n'),
    )
    const script = await run(process.execPath, ['lab.mjs'], { cwd: project })
    expect(JSON.parse(script.stdout)).toEqual({ total: 2, passed: 2, failed: 0, nonStrict: 0 })
  }, 180_000)
})
