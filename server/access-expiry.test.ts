import { describe, expect, it } from 'vitest'
import { AccessExpiryMarks } from './access-expiry.js'

const token = (serial: number, sid = 'fam_a') => ({ jti: `${serial.toString(36)}.random`, sid })

describe('AccessExpiryMarks', () => {
  it('expires every token issued so far, and none issued after', () => {
    const marks = new AccessExpiryMarks()
    expect(marks.expire(40)).toEqual([{ through: 40 }])
    expect(marks.isExpiredEarly(token(40))).toBe(true)
    expect(marks.isExpiredEarly(token(41))).toBe(false)
  })

  it('expires the tokens of the families named, and only theirs', () => {
    const marks = new AccessExpiryMarks()
    expect(marks.expire(10, ['fam_a'])).toEqual([{ family: 'fam_a', through: 10 }])
    expect(marks.isExpiredEarly(token(7, 'fam_a'))).toBe(true)
    expect(marks.isExpiredEarly(token(7, 'fam_b'))).toBe(false)
  })

  it('gives back through marks() what restore() takes, and forgets the marks of swept families', () => {
    const marks = new AccessExpiryMarks()
    marks.expire(5)
    marks.expire(9, ['fam_a', 'fam_b'])
    const copy = new AccessExpiryMarks()
    for (const mark of marks.marks()) copy.restore(mark)
    expect(copy.marks()).toEqual([{ through: 5 }, { family: 'fam_a', through: 9 }, { family: 'fam_b', through: 9 }])
    copy.sweep((id) => id === 'fam_b')
    expect(copy.marks()).toEqual([{ through: 5 }, { family: 'fam_b', through: 9 }])
    copy.clear()
    expect(copy.isExpiredEarly(token(1))).toBe(false)
  })
})
