import { InvalidArgumentError } from 'commander'

/** commander parsers shared by the commands: each refuses a bad value with one readable line. */

export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    }
    return Number(value)
  }
}

/** For repeatable options such as `--user a:b --user c:d`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}
