import { describe, expect, it } from 'vitest'
import { LabApi } from '../src/harness/lab-api.js'
import { clientSession } from '../src/harness/session-state.js'
import { useLab } from './support/lab.js'

const lab = useLab()

describe('clientSession', () => {
  it('tells active, revoked behind the back of the client, and signed out apart', async () => {
    const api = new LabApi(lab.url)
    try {
      const { storage } = await lab.signIn()
      expect(await clientSession(api, storage.current)).toEqual({ state: 'active' })
      await api.revoke()
      expect(await clientSession(api, storage.current)).toEqual({ state: 'revoked', revokedReason: 'lab' })
      await storage.clear()
      expect(await clientSession(api, storage.current)).toEqual({ state: 'signed-out' })
      expect(await clientSession(api, { accessToken: 'not-a-jwt', refreshToken: 'x' })).toEqual({ state: 'unknown' })
    } finally {
      await api.close()
    }
  })
})
