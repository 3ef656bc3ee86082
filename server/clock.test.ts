import { describe, expect, it } from 'vitest'
import { LabClock, MAX_CLOCK_MS } from './clock.js'

describe('LabClock', () => {
  it('follows real time plus the advanced offset', () => {
    let real = 1_000
    const clock = new LabClock(() => real)
    clock.advance(35_000)
    real += 10
    expect(clock.now()).toBe(36_010)
    expect(clock.offsetMs).toBe(35_000)
  })

  it('sets an absolute time and resets to real time', () => {
    const clock = new LabClock(() => 5_000)
    clock.set(1_000)
    expect(clock.now()).toBe(1_000)
    clock.reset()
    expect(clock.now()).toBe(5_000)
  })

  it('refuses to go backwards or by a non-number', () => {
    const clock = new LabClock(() => 0)
    expect(() => clock.advance(-1)).toThrow(RangeError)
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError)
  })

  it('stays within the years a Date can print', () => {
    const clock = new LabClock(() => 0)
    expect(() => clock.set(-1)).toThrow(RangeError)
    expect(() => clock.set(MAX_CLOCK_MS + 1)).toThrow(RangeError)
    clock.set(MAX_CLOCK_MS - 10)
    expect(() => clock.advance(11)).toThrow('past the year 9999')
  })
})
