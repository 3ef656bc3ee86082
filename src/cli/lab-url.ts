import type { Command } from 'commander'
import { HarnessError } from '../harness/errors.js'

export const DEFAULT_LAB_URL = 'http://127.0.0.1:4000'

/** Adds `--url`, defaulting to `REFRESH_LAB_URL` or the port `serve` uses by default. */
export function withLabUrl(command: Command): Command {
  return command
    .option('--url <url>', `the running \`refresh-lab serve\` (env REFRESH_LAB_URL; default ${DEFAULT_LAB_URL})`)
    .option('--lab-token <token>', 'the lab token the server was started with (env REFRESH_LAB_TOKEN)')
}

export function labUrl(flag: string | undefined): string {
  return parseUrl(flag ?? process.env['REFRESH_LAB_URL'] ?? DEFAULT_LAB_URL)
}

/** The origin of an http(s) URL, or a usage error naming `--url`. */
export function parseUrl(text: string): string {
  try {
    const url = new URL(text)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin
  } catch {
    // reported below
  }
  throw new HarnessError('usage', `--url must be an http(s) URL such as ${DEFAULT_LAB_URL}, got "${text}"`)
}
