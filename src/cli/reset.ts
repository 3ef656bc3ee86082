import type { Command } from 'commander'
import { labUrl, withLabUrl } from './lab-url.js'
import { COMMAND_SUMMARIES } from './summaries.js'

export function registerReset(program: Command): void {
  withLabUrl(program.command('reset').description(COMMAND_SUMMARIES.reset)).action(async (options: { url?: string; labToken?: string }) => {
    const { LabApi } = await import('../harness/lab-api.js')
    const lab = new LabApi(labUrl(options.url), options.labToken)
    try {
      await lab.reset()
      console.log(`reset ${lab.baseUrl}: no sessions, counters at zero, empty event log, no faults, real time, startup settings`)
    } finally {
      await lab.close()
    }
  })
}
