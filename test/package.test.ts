import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
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

  it('holds compiled JS, types, the lab page, the scenarios, the docs and examples the README links to, and nothing else', () => {
    const unexpected = files.filter(
      (path) =>
        !/^dist\/(src|server)\/.+\.(js|d\.ts)$/.test(path) &&
        !/^dist\/cli\/[\w-]+\.js$/.test(path) &&
        path !== 'dist/server/lab-page/index.html' &&
        !/^scenarios\/[a-z0-9-]+\.json$/.test(path) &&
        !/^docs\/[a-z-]+\.md$/.test(path) &&
        !/^examples\/[a-z-]+\.(ts|py|yml)$/.test(path) &&
        !['README.md', 'LICENSE', 'package.json', 'bin/refresh-lab', 'scenarios/README.md'].includes(path) &&
        !['docs/lab-page.png', 'docs/time-axis.png', 'docs/report.png'].includes(path),
    )
    expect(unexpected).toEqual([])
    expect(files).toEqual(
      expect.arrayContaining(['docs/clients.md', 'docs/design.md', 'examples/python-client.py', 'examples/github-workflow.yml']),
    )
    const compiled = files.filter((path) => path.startsWith('dist/'))
    expect(
      compiled.some((path) => path.endsWith('.test.js') || path.endsWith('.map') || (path.endsWith('.ts') && !path.endsWith('.d.ts'))),
    ).toBe(false)
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/client/index.d.ts',
        'scenarios/burst.json',
        'dist/server/lab-page/index.html',
        'dist/server/lab-page/page.js',
        'dist/src/shared/time-axis.js',
        'dist/cli/refresh-lab.js', // the CLI's bundle (scripts/bundle-cli.mjs)
        'dist/cli/tab-worker.js',
      ]),
    )
  })

  it('runs no script of ours when installed: dist/ is built by prepack, before packing', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
    expect(Object.keys(scripts).filter((name) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(name))).toEqual([])
    expect(scripts['prepack']).toBe('npm run build')
  })

  it('ships every file its shipped Markdown links to, so the docs work from node_modules', () => {
    const broken: string[] = []
    for (const doc of files.filter((path) => path.endsWith('.md'))) {
      for (const [, target = ''] of readFileSync(doc, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^([a-z]+:|#)/.test(target)) continue
        const path = posix.normalize(posix.join(posix.dirname(doc), target.replace(/#.*$/, '')))
        const shipped = path.endsWith('/') ? files.some((file) => file.startsWith(path)) : files.includes(path)
        if (!shipped) broken.push(`${doc}: ${target}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('installs into a fresh project, where npx refresh-lab burst and import { startLab } work', async () => {
    const project = mkdtempSync(join(tmpdir(), 'refresh-lab-user-'))
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }))
    await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project })

    const burst = await run('npx', ['--no-install', 'refresh-lab', 'burst', '--parallel', '10', '--json'], { cwd: project })
    expect(JSON.parse(burst.stdout)).toMatchObject({ verdict: 'pass', refresh: { serverCalls: 1 } })

    // The CLI's bundle finds the lab page beside it and loads a module client in its tab worker.
    writeFileSync(join(project, 'page.mjs'), 'console.log((await fetch(`${process.env.REFRESH_LAB_URL}/_lab/`)).status)')
    const page = await run('npx', ['--no-install', 'refresh-lab', 'exec', '--', process.execPath, 'page.mjs'], { cwd: project })
    expect(page.stdout.trim()).toBe('200')
    writeFileSync(
      join(project, 'my-client.mjs'),
      "import { createReferenceClient } from 'refresh-lab/client'\nexport const createClient = createReferenceClient\n",
    )
    const mine = await run('npx', ['--no-install', 'refresh-lab', 'burst', '--client', './my-client.mjs', '--json'], { cwd: project })
    expect(JSON.parse(mine.stdout)).toMatchObject({ verdict: 'pass', client: './my-client.mjs', refresh: { serverCalls: 1 } })

    writeFileSync(
      join(project, 'lab.mjs'),
      [
        "import { startLab } from 'refresh-lab'",
        "import { createReferenceClient } from 'refresh-lab/client'",
        "import { runScenarios, resolveScenarios } from 'refresh-lab/harness'",
        "const lab = await startLab({ accessTtl: '30s' })",
        "const report = await runScenarios({ url: lab.url, createClient: createReferenceClient, clientName: 'reference', scenarios: await resolveScenarios(['burst', 'late-401']) })",
        // The lab page, and every script it loads, as the browser would fetch them.
        'const html = await (await fetch(`${lab.url}/_lab/`)).text()',
        'const script = html.match(/<script type="module" src="([^"]+)"/)[1]',
        'const code = await (await fetch(`${lab.url}${script}`)).text()',
        "const imported = [...code.matchAll(/from '([^']+)'/g)].map((m) => new URL(m[1], `${lab.url}${script}`).href)",
        'const page = { title: html.includes("<title>refresh-lab</title>"), script: code.includes("EventSource"), imports: await Promise.all(imported.map(async (url) => (await fetch(url)).status)) }',
        'await lab.stop()',
        'console.log(JSON.stringify({ summary: report.summary, page }))',
      ].join('\n'),
    )
    const script = await run(process.execPath, ['lab.mjs'], { cwd: project })
    expect(JSON.parse(script.stdout)).toEqual({
      summary: { total: 2, passed: 2, failed: 0, nonStrict: 0 },
      page: { title: true, script: true, imports: [200, 200] }, // wire.js and time-axis.js
    })
  }, 180_000)
})
