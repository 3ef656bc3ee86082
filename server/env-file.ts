import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError } from './config-error.js'

type Env = Readonly<Record<string, string | undefined>>

/**
 * Variables a file may hold that refresh-lab never takes from it. `NODE_OPTIONS` is Node's own
 * (`--require`, `--import`): a settings file must not be a way to run code, whatever reads the
 * environment next.
 */
const NOT_FROM_FILE = ['NODE_OPTIONS']

/**
 * The environment `serve` reads: the process environment over a `.env` file. The file is
 * `--env PATH` when given (it must exist), else `.env` in the working directory when there is
 * one, as the lesson sets `JWT_ACCESS_EXPIRY` there. Variables already set win, as with dotenv.
 * The flag is not `--env-file`: Node 20 reads that one itself anywhere in argv (docs/server.md).
 */
export function environmentWithEnvFile(envFile: string | undefined, env: Env = process.env, cwd = process.cwd()): Env {
  const file = envFile === undefined ? resolve(cwd, '.env') : resolve(cwd, envFile)
  if (envFile === undefined && !existsSync(file)) return env
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`--env: cannot read ${envFile ?? file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  const fromFile: Record<string, string | undefined> = parseEnv(text)
  for (const name of NOT_FROM_FILE) delete fromFile[name]
  return { ...fromFile, ...env }
}
