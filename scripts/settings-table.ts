/**
 * Writes the settings table of docs/server.md from src/shared/settings.ts, between its
 * `settings-table` markers. `--check` only compares and exits 1 when the docs have drifted.
 *   node --import tsx scripts/settings-table.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { replaceSettingsTable } from '../src/shared/settings-docs.js'

const file = fileURLToPath(new URL('../docs/server.md', import.meta.url))
const current = readFileSync(file, 'utf8')
const wanted = replaceSettingsTable(current)
if (process.argv.includes('--check')) {
  if (wanted !== current) {
    console.error('docs/server.md: the settings table differs from src/shared/settings.ts; run npm run docs:settings')
    process.exit(1)
  }
  console.log('docs/server.md: the settings table matches src/shared/settings.ts')
} else if (wanted !== current) {
  writeFileSync(file, wanted)
  console.log('docs/server.md: settings table written')
}
