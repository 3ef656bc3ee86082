import { defaultText, SETTING_NAMES, SETTINGS, type SettingDef } from './settings.js'

const BEGIN = '<!-- settings-table: generated from src/shared/settings.ts by npm run docs:settings -->'
const END = '<!-- /settings-table -->'

/** The settings table of docs/server.md, generated so it cannot drift from the code. */
export function settingsTable(): string {
  const rows = SETTING_NAMES.map((name) => {
    const def: SettingDef = SETTINGS[name]
    const flag = `\`--${def.flag}${def.arg ? ` ${def.arg.replaceAll('|', '\\|')}` : ''}\``
    const env = def.env ? `\`${def.env}\`` : '—'
    const fallback = defaultText(def)
    const shown = fallback === undefined ? '—' : def.defaultText !== undefined ? fallback : `\`${fallback}\``
    return `| ${flag} | ${env} | ${shown} | ${def.live ? 'yes' : ''} | ${def.doc ?? def.help} |`
  })
  return ['| flag | env | default | live | meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n')
}

/** The document with its generated block replaced; a document without the markers is an error. */
export function replaceSettingsTable(markdown: string): string {
  const begin = markdown.indexOf(BEGIN)
  const end = markdown.indexOf(END)
  if (begin < 0 || end < begin) throw new Error(`the settings table markers are missing: ${BEGIN} … ${END}`)
  return `${markdown.slice(0, begin)}${BEGIN}\n${settingsTable()}\n${markdown.slice(end)}`
}
