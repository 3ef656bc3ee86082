import type { Command } from 'commander'
import { ConfigError } from '../../server/config-error.js'
import { addServeOptions, resolveServeConfig, type ServeCommandOptions, writePortFile } from './serve-options.js'
import { COMMAND_SUMMARIES } from './summaries.js'

export function registerExec(program: Command): void {
  const command = program
    .command('exec')
    .description(COMMAND_SUMMARIES.exec)
    .usage('[serve options] -- <command...>')
    .argument('[command...]', 'the command to run, after --')
  addServeOptions(command).action(async (commandLine: string[], options: ServeCommandOptions) => {
    process.exitCode = await exec(commandLine, options)
  })
}

/**
 * Runs `commandLine` against a lab started for it, and resolves with the code to exit with: the
 * command's own, 128 + the signal's number when a signal ended it (as shells report it), 127 when
 * it could not be started. The lab is stopped before this resolves, whatever the command did.
 */
export async function exec(commandLine: readonly string[], options: ServeCommandOptions): Promise<number> {
  const [file, ...args] = commandLine
  if (file === undefined) throw new ConfigError('exec: no command to run; give it after --, e.g. refresh-lab exec -- npm test')
  const config = await resolveServeConfig(options)
  const [{ startServer }, { spawn }, { constants }] = await Promise.all([
    import('../../server/start.js'),
    import('node:child_process'),
    import('node:os'),
  ])
  const server = await startServer(config)
  try {
    if (options.portFile !== undefined) await writePortFile(options.portFile, server.port)
    // stderr, so the command's own stdout stays the command's.
    console.error(`refresh-lab: lab listening on ${server.url}; running ${commandLine.join(' ')}`)
    const env = {
      ...process.env,
      REFRESH_LAB_URL: server.url,
      ...(config.labToken === undefined ? {} : { REFRESH_LAB_TOKEN: config.labToken }),
    }
    const child = spawn(file, args, { stdio: 'inherit', env })
    // Ctrl-C in a terminal reaches the whole process group; a CI runner's SIGTERM reaches only this
    // process. Either way the command gets the signal and decides; exec waits for it.
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    try {
      return await new Promise<number>((resolve) => {
        child.once('error', (error: NodeJS.ErrnoException) => {
          console.error(`refresh-lab: exec: cannot run ${file}: ${error.code === 'ENOENT' ? 'command not found' : error.message}`)
          resolve(error.code === 'ENOENT' ? 127 : 126)
        })
        child.once('exit', (code, signal) => {
          resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]))
        })
      })
    } finally {
      process.off('SIGINT', forward)
      process.off('SIGTERM', forward)
    }
  } finally {
    await server.close()
  }
}
