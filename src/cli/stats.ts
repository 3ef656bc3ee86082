import type { Command } from 'commander'
import type { LabStats } from '../shared/wire.js'
import { labUrl, withLabUrl } from './lab-url.js'
import { COMMAND_SUMMARIES } from './summaries.js'

export function registerStats(program: Command): void {
  withLabUrl(program.command('stats').description(COMMAND_SUMMARIES.stats))
    .option('--json', 'print /_lab/stats as JSON')
    .action(async (options: { url?: string; labToken?: string; json?: boolean }) => {
      const { LabApi } = await import('../harness/lab-api.js')
      const lab = new LabApi(labUrl(options.url), options.labToken)
      try {
        const stats = await lab.stats()
        console.log(options.json ? JSON.stringify(stats, null, 2) : formatStats(stats))
      } finally {
        await lab.close()
      }
    })
}

export function formatStats(stats: LabStats): string {
  const { refresh } = stats
  const rejected = Object.entries(refresh.rejectedByCode).map(([code, n]) => `${n}× ${code}`)
  const rows: [string, string][] = [
    ['logins', String(stats.logins)],
    [
      'refresh calls',
      `${refresh.calls} (${refresh.succeeded} succeeded, ${refresh.rejected} rejected${rejected.length > 0 ? `: ${rejected.join(', ')}` : ''}` +
        `${refresh.graceReuses > 0 ? `, ${refresh.graceReuses} inside the reuse grace` : ''}${refresh.faulted > 0 ? `, ${refresh.faulted} faulted` : ''})`,
    ],
    ['reuse detected', String(stats.reuseDetected)],
    ['sessions revoked', String(stats.familiesRevoked)],
    ['faults injected', String(stats.faults.injected)],
  ]
  const requests = Object.entries(stats.requests).map(
    ([route, byStatus]) =>
      `${route}  ${Object.entries(byStatus)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ')}`,
  )
  return [
    ...rows.map(([label, value]) => `${label.padEnd(17)}${value}`),
    `requests${requests.length === 0 ? '         none' : ''}`,
    ...requests.map((line) => `  ${line}`),
  ].join('\n')
}
