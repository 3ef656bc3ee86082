import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError } from './config-error.js'

type Env = Readonly<Record<string, string | undefined>>

/**
 * The environment `serve` reads: the process environment over a `.env` file. The file is
 * `--env-file PATH` when given (it must exist), else `.env` in the working directory when there is
 * one, as the lesson sets `JWT_ACCESS_EXPIRY` there. Variables already set win, as with dotenv.
 */
export function environmentWithEnvFile(envFile: string | undefined, env: Env = process.env, cwd = process.cwd()): Env {
  const file = envFile === undefined ? resolve(cwd, '.env') : resolve(cwd, envFile)
  if (envFile === undefined && !existsSync(file)) return env
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(
      `--env-file: cannot read ${envFile ?? file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    )
  }
  return { ...parseEnv(text), ...env }
}
