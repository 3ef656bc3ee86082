import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { resolveServerConfig } from '../../server/config.js'
import { scenarioSchema } from '../harness/scenario/schema.js'
import { lab } from '../../test/support/app.js'
import { runCli } from '../../test/support/cli.js'
import { replaceSettingsTable } from './settings-docs.js'
import { checkSetting, LIVE_SETTING_NAMES, parsedName, SETTING_NAMES, SETTINGS, type SettingDef, type SettingName } from './settings.js'

/**
 * The one list of settings, checked on every surface it feeds. These tests walk the list, so a
 * setting added to it is covered here without a new test: its flag, its default, and for a live
 * one `POST /_lab/config`, reset and the scenario format.
 */

/** A valid value other than the default, as JSON gives it, and what the server then holds. */
function otherValue(name: SettingName): { input: unknown; parsed: unknown } {
  const def: SettingDef = SETTINGS[name]
  const fallback = def.default
  if ('ms' in def) return { input: '42s', parsed: 42_000 }
  if (typeof fallback === 'boolean') return { input: !fallback, parsed: !fallback }
  if (typeof fallback === 'number') return { input: fallback + 1, parsed: fallback + 1 }
  const options = (def.schema as { options?: readonly string[] }).options
  if (options) {
    const other = options.find((option) => option !== fallback) as string
    return { input: other, parsed: other }
  }
  throw new Error(`settings.test.ts: teach otherValue() a value for ${name}`)
}

describe('the settings list', () => {
  it.each(SETTING_NAMES)('%s: its default passes its own check', (name) => {
    const def: SettingDef = SETTINGS[name]
    if (def.default === undefined) expect(def.defaultText, 'a setting without a default says what its absence means').toBeTruthy()
    else expect(checkSetting(name, def.default)).toMatchObject({ ok: true })
  })

  it('docs/server.md carries the table generated from it (npm run docs:settings rewrites it)', () => {
    const docs = readFileSync(new URL('../../docs/server.md', import.meta.url), 'utf8')
    expect(replaceSettingsTable(docs)).toBe(docs)
  })

  it('every setting is a flag of `serve`, with its variable and default in the help', async () => {
    const help = (await runCli(['serve', '--help'])).stdout.replace(/\s+/g, ' ')
    for (const name of SETTING_NAMES) {
      const def: SettingDef = SETTINGS[name]
      expect(help).toContain(`--${def.flag}`)
      if (def.env !== undefined) expect(help).toContain(`env ${def.env}`)
    }
  })

  it('words a bad value the same way for a flag, a variable and a JSON field', async () => {
    expect(() => resolveServerConfig({ accessTtl: '0s' }, {})).toThrow(/^--access-ttl: "0s" must be at least 1ms$/)
    expect(() => resolveServerConfig({}, { JWT_ACCESS_EXPIRY: '0s' })).toThrow(/^JWT_ACCESS_EXPIRY: "0s" must be at least 1ms$/)
    const res = await lab().call('POST', '/_lab/config', { json: { accessTtl: '0s' } })
    expect(res.body.error.message).toBe('"accessTtl" must be at least 1ms')
  })
})

describe.each(LIVE_SETTING_NAMES)('the live setting %s', (name) => {
  const { input, parsed } = otherValue(name)

  it('is set by its flag at startup', () => {
    const config = resolveServerConfig({ [name]: typeof input === 'number' ? String(input) : input }, {})
    expect(config[parsedName(name) as keyof typeof config]).toEqual(parsed)
  })

  it('changes live with POST /_lab/config, and reset restores the startup value', async () => {
    const { call } = lab()
    const startup = (await call('GET', '/_lab/config')).body[parsedName(name)]
    expect(startup).not.toEqual(parsed)
    const changed = await call('POST', '/_lab/config', { json: { [name]: input } })
    expect(changed.status).toBe(200)
    expect(changed.body[parsedName(name)]).toEqual(parsed)
    await call('POST', '/_lab/reset')
    expect((await call('GET', '/_lab/config')).body[parsedName(name)]).toEqual(startup)
  })

  it('refuses a value of the wrong type with a 422 naming the field', async () => {
    const wrong = typeof input === 'string' ? 12 : 'twelve'
    const res = await lab().call('POST', '/_lab/config', { json: { [name]: wrong } })
    expect(res.status).toBe(422)
    expect(res.body.error.message).toMatch(new RegExp(`^"${name}"`))
  })

  it('may be set by a scenario, which keeps the value as written for the server', () => {
    const scenario = scenarioSchema.parse({
      name: 'x',
      description: 'x',
      server: { [name]: input },
      steps: [{ do: 'configure', [name]: input }],
      expect: {},
    })
    expect(scenario.server).toEqual({ [name]: input })
    expect(scenario.steps[0]).toEqual({ do: 'configure', [name]: input })
  })
})
