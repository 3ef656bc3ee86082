import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * A module client compiled once per process for every tab that loads it (docs/clients.md, "How a
 * module client is loaded"). Through tsx, each tab (a worker thread) paid ~0.2 s of its own: tsx's
 * loader thread, its hooks, and every import sent through them; a run starts a tab or two per
 * scenario. esbuild bundles the client's own files once, leaves its packages as imports, and the
 * tabs import the result like any JavaScript module.
 *
 * The bundle is written under the `node_modules/.cache/refresh-lab/` nearest the client, so its
 * packages resolve from the very `node_modules` the client's would, and removed when the process
 * exits. `import.meta.url` (and `.dirname`, `.filename`) still name the client's own file, and an
 * inline source map sends stack traces to its lines. Whatever this cannot reproduce exactly (no
 * `node_modules` above the client, CommonJS names such as `require` or `__dirname`, a syntax error,
 * an import esbuild cannot resolve) is not compiled: the tabs load the file through tsx as before,
 * and tsx reports its errors.
 */
export function compiledClient(file: string): Promise<string | undefined> {
  const key = `${file}\0${mtimeOf(file)}`
  let compiled = compiledByFile.get(key)
  if (compiled === undefined) {
    compiled = compile(file).catch(() => undefined)
    compiledByFile.set(key, compiled)
  }
  return compiled
}

const compiledByFile = new Map<string, Promise<string | undefined>>()
const written: string[] = []
let nextOutput = 1

/** Names the CommonJS wrapper gives a module, which an ES module bundle does not have. */
const COMMONJS_NAMES = /\b(?:__dirname|__filename|require\s*\(|module\.exports|exports\.)/
const IMPORT_META_FILE = /\bimport\.meta\.(url|dirname|filename)\b/g
const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' } as const

/** Thrown by the plugin to give up on a bundle: the tabs then load the file through tsx. */
class NotCompilable extends Error {}

async function compile(file: string): Promise<string | undefined> {
  const cache = cacheDirFor(file)
  if (cache === undefined) return undefined
  const { build } = await import('esbuild')
  const output = join(cache, `${basename(file, extname(file))}-${process.pid}-${nextOutput++}.mjs`)
  const result = await build({
    entryPoints: [file],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    sourcemap: 'inline',
    sourcesContent: false,
    outfile: output,
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'refresh-lab-client-files',
        setup(bundle) {
          bundle.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
            const source = readFileSync(args.path, 'utf8')
            if (COMMONJS_NAMES.test(source)) throw new NotCompilable(`${args.path} uses CommonJS names`)
            const url = pathToFileURL(args.path).href
            const place = { url, dirname: dirname(args.path), filename: args.path }
            const contents = source.replace(IMPORT_META_FILE, (_, name: keyof typeof place) => JSON.stringify(place[name]))
            return { contents, loader: LOADERS[extname(args.path) as keyof typeof LOADERS] ?? 'js' }
          })
        },
      },
    ],
  })
  const text = result.outputFiles?.[0]?.text
  if (text === undefined) return undefined
  // Written whole under a temporary name, then renamed: a tab never imports half a file.
  writeFileSync(`${output}.tmp`, text)
  renameSync(`${output}.tmp`, output)
  if (written.push(output) === 1) process.once('exit', removeWritten)
  return pathToFileURL(output).href
}

/**
 * `<dir>/node_modules/.cache/refresh-lab` for the nearest `<dir>` above the client that has a
 * `node_modules`, by its real path: Node loads the bundle from there even when `node_modules` is
 * a symlink, and the source map's paths, relative to the bundle, must lead back to the client.
 */
function cacheDirFor(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules')
    if (existsSync(modules)) {
      const cache = join(modules, '.cache', 'refresh-lab')
      mkdirSync(cache, { recursive: true })
      return realpathSync(cache)
    }
    if (dirname(dir) === dir) return undefined
  }
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs
  } catch {
    return 0
  }
}

function removeWritten(): void {
  for (const file of written) rmSync(file, { force: true })
}
