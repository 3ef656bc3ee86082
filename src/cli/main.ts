import { CommanderError } from 'commander'
import { ConfigError } from '../../server/config-error.js'
import { HarnessError } from '../harness/errors.js'
import { buildProgram } from './program.js'

/** The system errors of a server that cannot take its address: the user's to fix, not a bug. */
const CANNOT_LISTEN = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or config, 3 server unreachable.
 * User errors print one line, never a stack trace.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv)
  } catch (error) {
    process.exitCode = exitCodeFor(error)
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed its one line (or the help / version text).
    return error.exitCode === 0 ? 0 : 2
  }
  if (error instanceof HarnessError) {
    console.error(`refresh-lab: ${error.message}`)
    return error.kind === 'unreachable' ? 3 : 2
  }
  if (error instanceof ConfigError) {
    console.error(`refresh-lab: ${error.message}`)
    return 2
  }
  if (error instanceof Error && CANNOT_LISTEN.has((error as NodeJS.ErrnoException).code ?? '')) {
    console.error(`refresh-lab: cannot listen: ${error.message}; pick another --port or --host`)
    return 2
  }
  // Anything else is a bug in refresh-lab: show everything, it is what a bug report needs.
  console.error('refresh-lab: unexpected error; please report it with the output below')
  console.error(error)
  return 70
}
