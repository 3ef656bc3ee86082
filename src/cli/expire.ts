import type { Command } from 'commander'
import { labUrl, withLabUrl } from './lab-url.js'
import { COMMAND_SUMMARIES } from './summaries.js'

interface ExpireOptions {
  url?: string
  labToken?: string
  refresh?: boolean
  both?: boolean
  user?: string
}

export function registerExpire(program: Command): void {
  withLabUrl(program.command('expire').description(COMMAND_SUMMARIES.expire))
    .option('--refresh', 'expire the refresh tokens instead, so the next refresh signs the user out')
    .option('--both', 'expire access and refresh tokens')
    .option('--user <email>', "only this user's sessions")
    .action(async (options: ExpireOptions) => {
      const { LabApi } = await import('../harness/lab-api.js')
      const lab = new LabApi(labUrl(options.url), options.labToken)
      try {
        const tokens = options.both ? 'both' : options.refresh ? 'refresh' : 'access'
        const result = await lab.expire({ tokens, ...(options.user === undefined ? {} : { user: options.user }) })
        const who = options.user ?? 'every user'
        if (tokens !== 'refresh')
          console.log(`expired the access tokens of ${result.sessions} session(s) of ${who}; the next request gets 401 and must refresh`)
        if (tokens !== 'access') console.log(`expired ${result.refreshTokens} refresh token(s) of ${who}; the next refresh is refused`)
      } finally {
        await lab.close()
      }
    })
}
