import { describe, expect, it } from 'vitest'
import { DurationError, formatDuration, parseDuration } from './duration.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['168h', 604_800_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2m30s500ms', 150_500],
    ['0', 0],
    ['0s', 0],
    [' 30s ', 30_000],
  ])('reads %s as %i ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it.each([
    ['', /empty/],
    ['30', /unit is missing.*30s/],
    ['15 m', /expected a number and a unit/],
    ['-5s', /expected a number and a unit/],
    ['5y', /expected a number and a unit/],
    ['abc', /expected a number and a unit/],
    ['1h30', /expected a number and a unit/],
    ['s', /expected a number and a unit/],
    ['101d'.replace('101', '40000'), /longer than 100 years/],
  ])('refuses %j with a reason', (input, reason) => {
    expect(() => parseDuration(input)).toThrow(DurationError)
    expect(() => parseDuration(input)).toThrow(reason)
  })

  it('names the input in the error', () => {
    expect(() => parseDuration('10 minutes')).toThrow('invalid duration "10 minutes"')
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [30_000, '30s'],
    [900_000, '15m'],
    [604_800_000, '168h'],
    [5_400_000, '1h30m'],
    [1_500, '1s500ms'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it('round-trips through parseDuration', () => {
    for (const text of ['15m', '168h', '1h30m', '500ms', '2m30s500ms']) {
      expect(formatDuration(parseDuration(text))).toBe(text)
    }
  })
})
