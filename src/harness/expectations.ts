/** One checked expectation of a run: what was expected, what happened, and whether they match. */
export interface Expectation {
  name: string
  pass: boolean
  expected: string | number | boolean
  actual: string | number | boolean
}

/** A count that must be exact, or fall in a range. */
export type CountExpectation = number | { min?: number | undefined; max?: number | undefined }

export function check(name: string, expected: Expectation['expected'], actual: Expectation['actual']): Expectation {
  return { name, pass: expected === actual, expected, actual }
}

export function checkCount(name: string, expected: CountExpectation, actual: number): Expectation {
  if (typeof expected === 'number') return check(name, expected, actual)
  const min = expected.min ?? 0
  const max = expected.max ?? Number.POSITIVE_INFINITY
  return { name, pass: actual >= min && actual <= max, expected: formatRange(min, max), actual }
}

/** `1..2`, `≥ 1`, `≤ 3`. */
export function formatRange(min: number, max: number): string {
  if (max === Number.POSITIVE_INFINITY) return `≥ ${min}`
  if (min === 0) return `≤ ${max}`
  return `${min}..${max}`
}

/** Reads `3` or `1-2` (a range) from the command line. */
export function parseCountExpectation(text: string): CountExpectation | undefined {
  const exact = /^(\d+)$/.exec(text)
  if (exact) return Number(exact[1])
  const range = /^(\d+)-(\d+)$/.exec(text)
  if (range && Number(range[1]) <= Number(range[2])) return { min: Number(range[1]), max: Number(range[2]) }
  return undefined
}

export function describeFailures(expectations: Expectation[]): string {
  return expectations
    .filter((e) => !e.pass)
    .map((e) => `${e.name}: expected ${String(e.expected)}, got ${String(e.actual)}`)
    .join('; ')
}
