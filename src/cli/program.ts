import { Command } from 'commander'
import { registerBurst } from './burst.js'
import { registerServe } from './serve.js'

/** Builds the `refresh-lab` program. Each command lives in its own module and loads its work lazily. */
export function buildProgram(): Command {
  const program = new Command('refresh-lab')
    .description('Prove that your client refreshes tokens silently, exactly once, without replaying a rotated refresh token.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerServe(program)
  registerBurst(program)
  return program
}
