import { describe, expect, it } from 'vitest'
import { duplicateKey } from './json-body.js'

describe('duplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":[{"k":1,"k":2}]}', 'k'],
    ['{"e\\u0061":1,"ea":2}', 'ea'],
    ['{"a":"x,y","a":1}', 'a'],
  ])('finds the repeated key in %s', (text, key) => {
    expect(duplicateKey(text)).toBe(key)
  })

  it.each(['{"a":1,"b":2}', '{"a":{"x":1},"b":{"x":2}}', '{"a":"\\"a\\"","\\"a\\"":1}', '[{"k":1},{"k":2}]', '"just a string"'])(
    'finds none in %s',
    (text) => {
      expect(duplicateKey(text)).toBeUndefined()
    },
  )
})
