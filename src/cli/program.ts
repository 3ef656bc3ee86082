import { Command } from 'commander'
import { COMMAND_SUMMARIES } from './summaries.js'

type Register = (program: Command) => void

/**
 * Every command, in the order `--help` lists them, and how to load it. Only the command at hand is
 * loaded, so `burst` does not pay for `serve`'s settings or `run`'s catalog (issue 14).
 */
const COMMANDS: Record<keyof typeof COMMAND_SUMMARIES, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServe,
  exec: async () => (await import('./exec.js')).registerExec,
  burst: async () => (await import('./burst.js')).registerBurst,
  run: async () => (await import('./run.js')).registerRun,
  expire: async () => (await import('./expire.js')).registerExpire,
  stats: async () => (await import('./stats.js')).registerStats,
  reset: async () => (await import('./reset.js')).registerReset,
  assert: async () => (await import('./assert.js')).registerAssert,
}

/**
 * Builds the `refresh-lab` program for these arguments (`process.argv`). Each command lives in its own
 * module and loads its work lazily. When the arguments name no command (`--help`, a typo), each
 * command is listed by its name and summary alone, without loading it: enough for the program's
 * help and for commander's "did you mean" (issue 14: `--help` close to `node -e 0`).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('refresh-lab')
    .description('Prove that your client refreshes tokens silently, exactly once, without replaying a rotated refresh token.')
    .version('0.1.0')
    .exitOverride()
  const named = commandNamedIn(argv)
  const load = named === undefined ? undefined : COMMANDS[named as keyof typeof COMMANDS]
  if (load) {
    ;(await load())(program)
    return program
  }
  for (const [name, summary] of Object.entries(COMMAND_SUMMARIES)) program.command(name).description(summary)
  return program
}

/** The command the arguments name: the first one (the program has no option that takes a value), or the one `help` asks about. */
function commandNamedIn(argv: readonly string[]): string | undefined {
  const first = argv[2]
  const named = first === 'help' ? argv[3] : first
  return named !== undefined && Object.hasOwn(COMMANDS, named) ? named : undefined
}
