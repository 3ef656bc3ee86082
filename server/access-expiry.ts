import type { ExpiryMark } from './domain-events.js'
import { serialOf, type AccessClaims } from './tokens.js'

/**
 * Access tokens the lab expired early (`/_lab/expire`). Tokens carry their issue serial in `jti`,
 * so "every access token issued so far" is a mark, not a list: tokens with a serial up to a mark
 * count as expired. One mark covers all sessions, and one per family.
 */
export class AccessExpiryMarks {
  #throughAll = 0
  readonly #throughFamily = new Map<string, number>()

  /** Expires the tokens up to serial `through`: of these families, or of all when `families` is absent. */
  expire(through: number, families?: readonly string[]): ExpiryMark[] {
    if (families === undefined) {
      this.#throughAll = through
      return [{ through }]
    }
    for (const family of families) this.#throughFamily.set(family, through)
    return families.map((family) => ({ family, through }))
  }

  /** Puts back a mark a data dir kept. */
  restore(mark: ExpiryMark): void {
    if (mark.family === undefined) this.#throughAll = mark.through
    else this.#throughFamily.set(mark.family, mark.through)
  }

  /** True when the lab expired this access token early. */
  isExpiredEarly(claims: Pick<AccessClaims, 'jti' | 'sid'>): boolean {
    const serial = serialOf(claims)
    return serial <= this.#throughAll || serial <= (this.#throughFamily.get(claims.sid) ?? 0)
  }

  /** Forgets the marks of families that no longer exist. */
  sweep(exists: (familyId: string) => boolean): void {
    for (const id of this.#throughFamily.keys()) if (!exists(id)) this.#throughFamily.delete(id)
  }

  /** Every mark, the all-sessions one first: what a compaction writes. */
  marks(): ExpiryMark[] {
    return [{ through: this.#throughAll }, ...[...this.#throughFamily].map(([family, through]) => ({ family, through }))]
  }

  clear(): void {
    this.#throughAll = 0
    this.#throughFamily.clear()
  }
}
