import { describe, expect, it } from 'vitest'
import { RefreshWatch } from './refresh-watch.js'

const refreshed = (family: string) => ({ type: 'refreshed', user: 'u1', family, generation: 2 }) as const

/** 'waiting' while the promise is pending after the event loop has turned once. */
async function state(promise: Promise<void>): Promise<'resolved' | 'waiting'> {
  return Promise.race([promise.then(() => 'resolved' as const), new Promise<'waiting'>((r) => setImmediate(() => r('waiting')))])
}

describe('RefreshWatch', () => {
  it('holds a token signed before any refresh until its own session refreshes, not another', async () => {
    let lastSerial = 5
    const watch = new RefreshWatch(() => lastSerial)
    const held = watch.refreshedSince('f1', 5, 60_000)
    watch.follow(refreshed('f2'))
    expect(await state(held)).toBe('waiting')
    lastSerial = 7
    watch.follow(refreshed('f1'))
    expect(await state(held)).toBe('resolved')
  })

  it('does not hold a token its session has already refreshed past: the late request that came after the refresh', async () => {
    const watch = new RefreshWatch(() => 9)
    watch.follow(refreshed('f1'))
    expect(await state(watch.refreshedSince('f1', 9, 60_000))).toBe('resolved')
    expect(await state(watch.refreshedSince('f1', 3, 60_000))).toBe('resolved')
    // The token that refresh signed (serial 10) is newer than it: it waits for the next one.
    expect(await state(watch.refreshedSince('f1', 10, 60_000))).toBe('waiting')
    // A jti that is not ours (serial 0) never counts as older than a refresh.
    expect(await state(watch.refreshedSince('f1', 0, 60_000))).toBe('waiting')
  })

  it('a reset releases every hold and forgets every refresh; a hold ends by itself after its time', async () => {
    const watch = new RefreshWatch(() => 4)
    watch.follow(refreshed('f1'))
    const held = watch.refreshedSince('f2', 1, 60_000)
    watch.follow({ type: 'reset' })
    expect(await state(held)).toBe('resolved')
    expect(await state(watch.refreshedSince('f1', 1, 60_000))).toBe('waiting')
    await expect(watch.refreshedSince('f3', 1, 5)).resolves.toBeUndefined()
  })

  it('remembers the last 1024 sessions that refreshed, forgetting the least recent first', async () => {
    const watch = new RefreshWatch(() => 9)
    for (let i = 0; i <= 1024; i++) watch.follow(refreshed(`f${i}`))
    expect(await state(watch.refreshedSince('f0', 1, 60_000))).toBe('waiting')
    expect(await state(watch.refreshedSince('f1', 1, 60_000))).toBe('resolved')
  })
})
