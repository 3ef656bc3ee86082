import { DurationError, formatDuration, parseDuration } from '../../src/shared/duration.js'
import { LabError } from '../../src/shared/errors.js'

/**
 * Typed reads of a lab control request body. Unlike the auth routes, which ignore extra fields as
 * real servers do, lab calls refuse unknown fields: a typo such as `"advanced"` should fail loudly,
 * not be ignored while the test goes on without the change it asked for.
 */
export class LabFields {
  constructor(
    private readonly body: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    const unknown = Object.keys(body).filter((key) => !allowed.includes(key))
    if (unknown.length > 0) {
      throw new LabError('VALIDATION_ERROR', `unknown field "${unknown[0]}"; expected ${allowed.map((a) => `"${a}"`).join(', ')}`)
    }
  }

  has(name: string): boolean {
    return this.body[name] !== undefined
  }

  string(name: string, maxLength = 500): string | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value === '') throw invalid(name, 'a non-empty string')
    if (value.length > maxLength) throw invalid(name, `at most ${maxLength} characters`)
    return value
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw invalid(name, `a whole number from ${min} to ${max}`)
    }
    return value as number
  }

  boolean(name: string): boolean | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    if (typeof value !== 'boolean') throw invalid(name, 'true or false')
    return value
  }

  /** A duration string such as `"35s"`, in milliseconds. */
  duration(name: string, limits: { min?: number; max?: number } = {}): number | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string') throw invalid(name, 'a duration string such as "35s"')
    let ms: number
    try {
      ms = parseDuration(value)
    } catch (error) {
      if (error instanceof DurationError) throw new LabError('VALIDATION_ERROR', `"${name}": ${error.message}`)
      throw error
    }
    if (limits.min !== undefined && ms < limits.min) throw invalid(name, `at least ${formatDuration(limits.min)}`)
    if (limits.max !== undefined && ms > limits.max) throw invalid(name, `at most ${formatDuration(limits.max)}`)
    return ms
  }

  /** An instant as an ISO time or epoch milliseconds. */
  time(name: string): number | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    const ms = typeof value === 'string' || typeof value === 'number' ? new Date(value).getTime() : Number.NaN
    if (Number.isNaN(ms)) throw invalid(name, 'an ISO time or epoch milliseconds')
    return ms
  }

  /** One of a fixed set of strings. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const value = this.body[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || !choices.includes(value as T)) throw invalid(name, `one of ${choices.map((c) => `"${c}"`).join(', ')}`)
    return value as T
  }
}

function invalid(name: string, expected: string): LabError {
  return new LabError('VALIDATION_ERROR', `"${name}" must be ${expected}`)
}
