/**
 * Durations as people write them in `.env` files and Go configs: `500ms`, `30s`, `15m`, `168h`,
 * `7d`, and compounds such as `1h30m` or `1.5h`. A bare `0` is allowed; any other bare number is
 * refused, because `30` could mean seconds or minutes and guessing wrong wastes an afternoon.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
type Unit = keyof typeof UNIT_MS

// `ms` must come before `m` and `s` in the alternation so `500ms` is not read as `500m` + `s`.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/

/** The longest duration we accept: 100 years, far past any token lifetime and safe as a number. */
export const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d

export class DurationError extends TypeError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid duration "${input}": ${reason}`)
    this.name = 'DurationError'
  }
}

/**
 * Parses a duration into whole milliseconds.
 *
 * @example parseDuration('1h30m') // 5_400_000
 * @throws DurationError naming the input and what was expected
 */
export function parseDuration(input: string): number {
  const text = input.trim()
  if (text === '0') return 0
  if (text === '') throw new DurationError(input, 'it is empty; use e.g. 30s, 15m, 168h or 1h30m')
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    throw new DurationError(input, `a unit is missing; write e.g. ${text}s or ${text}m`)
  }
  if (!WHOLE.test(text)) {
    throw new DurationError(input, 'expected a number and a unit (ms, s, m, h, d), e.g. 500ms, 30s, 15m, 168h, 7d, 1h30m')
  }
  let total = 0
  PART.lastIndex = 0
  for (let match = PART.exec(text); match !== null; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2] as Unit]
  }
  if (total > MAX_DURATION_MS) throw new DurationError(input, 'it is longer than 100 years')
  return Math.round(total)
}

/**
 * Formats milliseconds the way people write them, largest unit first: `15m`, `168h`, `1h30m`,
 * `500ms`, `0s`. Days are shown as hours, as Go prints them, so `168h` reads back as written.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  const parts: string[] = []
  let rest = Math.round(ms)
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]
    const count = Math.floor(rest / size)
    if (count > 0) parts.push(`${count}${unit}`)
    rest -= count * size
  }
  return parts.join('')
}
