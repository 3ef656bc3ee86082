import { Command } from 'commander'
import { registerAssert } from './assert.js'
import { registerBurst } from './burst.js'
import { registerExec } from './exec.js'
import { registerExpire } from './expire.js'
import { registerReset } from './reset.js'
import { registerRun } from './run.js'
import { registerServe } from './serve.js'
import { registerStats } from './stats.js'

/** Builds the `refresh-lab` program. Each command lives in its own module and loads its work lazily. */
export function buildProgram(): Command {
  const program = new Command('refresh-lab')
    .description('Prove that your client refreshes tokens silently, exactly once, without replaying a rotated refresh token.')
    .version('0.1.0')
    .exitOverride()
  registerServe(program)
  registerExec(program)
  registerBurst(program)
  registerRun(program)
  registerExpire(program)
  registerStats(program)
  registerReset(program)
  registerAssert(program)
  return program
}
