import { writeFile } from 'node:fs/promises'
import { type Command, InvalidArgumentError, Option } from 'commander'
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

/** The report options `burst` and `run` share: the reporter, its output file, and the HTML report beside it. */
export function addReportOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--reporter <kind>', 'table, json, junit or html (one self-contained page with a time axis of the calls)')
        .choices(['table', 'json', 'junit', 'html'])
        .default('table'),
    )
    .option('--output <file>', 'write the json, junit or html report to this file; the table still goes to stdout')
    .option('--html <file>', 'also write the HTML report (verdicts, a time axis of the calls, expectations) to this file')
}
