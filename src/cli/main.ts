import { CommanderError } from 'commander'
import { buildProgram } from './program.js'

/**
 * Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or config, 3 server unreachable.
 * User errors print one line, never a stack trace.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
  } catch (error) {
    process.exitCode = exitCodeFor(error)
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed its one line (or the help / version text).
    return error.exitCode === 0 ? 0 : 2
  }
  const { name, message, kind, code } = error as { name?: string; message?: string; kind?: string; code?: string }
  if (name === 'HarnessError') {
    console.error(`refresh-lab: ${message}`)
    return kind === 'unreachable' ? 3 : 2
  }
  if (name === 'ConfigError') {
    console.error(`refresh-lab: ${message}`)
    return 2
  }
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    console.error(`refresh-lab: cannot listen: ${message}; pick another --port or --host`)
    return 2
  }
  // Anything else is a bug in refresh-lab: show everything, it is what a bug report needs.
  console.error('refresh-lab: unexpected error; please report it with the output below')
  console.error(error)
  return 70
}
