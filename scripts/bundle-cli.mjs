// Part of `npm run build` (build.mjs), after tsc: bundles the CLI and its tab worker into dist/cli/, so a
// command loads a few files instead of some three hundred (zod alone is 95 modules, most of them
// locales the CLI never reads) and starts sooner (docs/performance.md, "The CLI's start").
// The library entry points stay tsc's output in dist/src/.
import { build } from 'esbuild'

await build({
  entryPoints: {
    'refresh-lab': 'dist/src/cli/main.js',
    'tab-worker': 'dist/src/harness/tabs/tab-worker.js',
  },
  outdir: 'dist/cli',
  bundle: true,
  // Each command's code stays in its own chunk, loaded when that command runs.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Loaded on demand from the user's install: the lab page's TypeScript (a checkout only), the
  // Redis client (--store redis only), tsx (module clients it must transform), esbuild (module
  // clients), and undici (only where the runtime's own fetch has no Agent to lend).
  external: ['typescript', 'ioredis', 'tsx', 'tsx/*', 'esbuild', 'undici'],
  // The bundled CommonJS packages (commander) call require() for Node's modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
})
