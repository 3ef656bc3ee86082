import { writeFile } from 'node:fs/promises'
import { InvalidArgumentError } from 'commander'
import { BUILT_IN_CLIENTS } from '../client/index.js'
import { HarnessError } from '../harness/errors.js'

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

/** `--client` of burst and run: every built-in by name, so `--help` shows them all. */
export const CLIENT_HELP = `the client to judge: a built-in (${Object.keys(BUILT_IN_CLIENTS).join(', ')}), your module exporting createClient(ctx) (./my-client.ts), or exec:<command> for a client in any language`

/** Find out now, not after the run, that a report cannot be written. */
export async function checkWritable(flag: string, file: string | undefined): Promise<void> {
  if (file === undefined) return
  await writeFile(file, '').catch((error: NodeJS.ErrnoException) => {
    throw new HarnessError('usage', `${flag}: cannot write ${file} (${error.code ?? error.message})`)
  })
}
