import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveServerConfig } from './config.js'
import { createLab, type Lab } from './lab.js'
import { journalEntriesFor } from './persistence.js'
import { hashToken, RECENT_ROTATED_KEPT, type RefreshStore } from './store.js'

const SECRET = 'test-secret-test-secret-test-secret'
const openLab = async (dir: string) => {
  const lab = createLab(resolveServerConfig({ dataDir: dir, secret: SECRET }, {}))
  await lab.ready
  return lab
}
const journal = (dir: string) =>
  readFileSync(join(dir, 'journal.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
const memory = (lab: Lab) => lab.store as RefreshStore
const access = (serial: number, sid: string) => ({ jti: `${serial.toString(36)}.x`, sid })

describe('--data-dir as a subscriber of domain events', () => {
  it('journals a registration, a clock move and early expiries in the entry format recovery reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-persist-'))
    const lab = await openLab(dir)
    const { family } = memory(lab).createFamily('usr_1', lab.clock.now())
    await lab.tokens.sign('usr_1', family.id, lab.clock.now(), 60_000)
    const ada = lab.users.add('ada@example.com', 'secret-secret', 'Ada')
    const { offsetMs } = lab.moveClock({ advanceMs: 35_000 })
    lab.expire({ family: family.id }, 'access')
    lab.expire({}, 'access')
    lab.close()

    const lines = journal(dir).filter((entry) => !('store' in entry))
    expect(lines).toEqual([
      { serialFloor: 10_000 },
      { user: ada },
      { clockOffsetMs: offsetMs },
      { expiredFamily: [family.id, 1] },
      { expiredThroughAll: 1 },
    ])

    const again = await openLab(dir)
    expect(again.users.find('ada@example.com')).toEqual(ada)
    expect(again.clock.offsetMs).toBe(offsetMs)
    expect(memory(again).family(family.id)?.status).toBe('active')
    expect(again.expiry.isExpiredEarly(access(1, 'fam_other'))).toBe(true)
    expect(again.expiry.isExpiredEarly(access(2, family.id))).toBe(false)
    expect(again.tokens.lastSerial).toBe(10_000)
    again.close()
  })

  it('writes nothing for the events only the counters and the log need', () => {
    expect(journalEntriesFor({ type: 'signedIn', user: 'usr_1', family: 'fam_1' })).toEqual([])
    expect(journalEntriesFor({ type: 'refreshRejected', code: 'INVALID_REFRESH_TOKEN' })).toEqual([])
    expect(journalEntriesFor({ type: 'familyRevoked', family: 'fam_1', reason: 'lab' })).toEqual([])
  })

  it('folds everything into a fresh snapshot at a reset: the startup users only, real time, no sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-persist-reset-'))
    const lab = await openLab(dir)
    lab.users.add('ada@example.com', 'secret-secret')
    memory(lab).createFamily('usr_1', lab.clock.now())
    lab.moveClock({ advanceMs: 1_000 })
    lab.reset()
    lab.close()
    expect(journal(dir)).toEqual([])
    const again = await openLab(dir)
    expect(again.users.find('ada@example.com')).toBeUndefined()
    expect(memory(again).size.families).toBe(0)
    expect(again.clock.offsetMs).toBe(0)
    again.close()
  })

  it('recovers a data dir written before domain events existed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-persist-old-'))
    const now = Date.now()
    const family = { id: 'fam_old', userId: 'usr_2', createdAt: now, expiresAt: now + 3_600_000, status: 'active', generation: 1 }
    const record = { familyId: 'fam_old', generation: 1, issuedAt: now, expiresAt: now + 600_000, rotatedAt: null, graceUses: 0 }
    // As the lab wrote them before: a compacted snapshot, then journal lines.
    writeFileSync(
      join(dir, 'state.json'),
      JSON.stringify([{ store: { families: [], tokens: [] } }, { clockOffsetMs: 0 }, { serialFloor: 10_000 }, { expiredThroughAll: 0 }]),
    )
    writeFileSync(
      join(dir, 'journal.ndjson'),
      [
        { user: { id: 'usr_2', email: 'old@example.com', password: 'secret-secret', name: 'old' } },
        { store: { families: [family], tokens: [[hashToken('old-refresh-token'), record]] } },
        { clockOffsetMs: 5_000 },
        { serialFloor: 20_000 },
        { expiredFamily: ['fam_old', 12_000] },
      ]
        .map((entry) => `${JSON.stringify(entry)}\n`)
        .join(''),
    )
    const lab = await openLab(dir)
    expect(lab.users.find('old@example.com')?.id).toBe('usr_2')
    expect(lab.clock.offsetMs).toBe(5_000)
    expect(lab.tokens.lastSerial).toBe(20_000)
    expect(lab.expiry.isExpiredEarly(access(12_000, 'fam_old'))).toBe(true)
    expect(lab.expiry.isExpiredEarly(access(12_000, 'fam_new'))).toBe(false)
    // An old token keeps its record and its chain keeps the old derivation, until the session ends.
    const child = memory(lab).rotate('old-refresh-token', lab.clock.now())
    expect(child).toMatchObject({ kind: 'rotated', generation: 2, token: expect.stringMatching(/^[\w-]{43}$/) })
    const grandchild = memory(lab).rotate((child as { token: string }).token, lab.clock.now())
    expect(grandchild).toMatchObject({ kind: 'rotated', generation: 3 })
    expect(memory(lab).rotate('old-refresh-token', lab.clock.now())).toMatchObject({ kind: 'reuse', generation: 1 })
    expect(memory(lab).rotate('old-refresh-token', lab.clock.now())).not.toHaveProperty('ageAtLeast')
    lab.close()
  })

  it('keeps what forgotten tokens need across a restart: the reuse and the early expiry still reach them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-persist-forgotten-'))
    const first = await openLab(dir)
    const now = first.clock.now()
    const replayed = memory(first).createFamily('usr_1', now)
    const expired = memory(first).createFamily('usr_1', now)
    for (const login of [replayed, expired]) {
      let token = login.token
      for (let i = 1; i <= 20; i += 1) token = (memory(first).rotate(token, now + i) as { token: string }).token
    }
    memory(first).expireRefreshTokens(now + 100, new Set([expired.family.id]))
    first.close()

    const second = await openLab(dir)
    // Two sessions, each its newest token and the newest rotated ones: not 42 records.
    expect(memory(second).size.tokens).toBe(2 * (1 + RECENT_ROTATED_KEPT))
    expect(memory(second).rotate(replayed.token, now + 200)).toMatchObject({ kind: 'reuse', generation: 1, ageAtLeast: true })
    expect(memory(second).rotate(expired.token, now + 200)).toMatchObject({ code: 'REFRESH_TOKEN_EXPIRED', generation: 1 })
    second.close()
    const third = await openLab(dir)
    expect(memory(third).family(replayed.family.id)).toMatchObject({ status: 'revoked', revokedReason: 'reuse' })
    expect(memory(third).isActive(expired.family.id)).toBe(true)
    third.close()
  })

  it('saves the keys it generated, so access tokens from before a restart still verify and a grace reuse finds the child', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-persist-keys-'))
    for (const alg of ['HS256', 'ES256'] as const) {
      const config = resolveServerConfig({ dataDir: join(dir, alg), alg, reuseGrace: '1h' }, {})
      const first = createLab(config)
      await first.ready
      const { family, token } = memory(first).createFamily('usr_1', first.clock.now())
      const { token: jwt } = await first.tokens.sign('usr_1', family.id, first.clock.now(), 60_000)
      const child = memory(first).rotate(token, first.clock.now())
      first.close()
      const second = createLab(config)
      await second.ready
      await expect(second.tokens.verify(jwt, second.clock.now())).resolves.toMatchObject({ sid: family.id })
      // The grace answer is the child derived with the refresh key: found only if the key was kept.
      expect(memory(second).rotate(token, second.clock.now())).toMatchObject({ kind: 'grace', token: (child as { token: string }).token })
      second.close()
    }
  })
})
