import { InvalidArgumentError, type Command } from 'commander'
import {
  check,
  checkCount,
  describeFailures,
  parseCountExpectation,
  type CountExpectation,
  type Expectation,
} from '../harness/expectations.js'
import { labUrl, withLabUrl } from './lab-url.js'
import { COMMAND_SUMMARIES } from './summaries.js'

interface AssertOptions {
  url?: string
  labToken?: string
  refreshes?: CountExpectation
  reuse?: boolean
  json?: boolean
}

export function registerAssert(program: Command): void {
  withLabUrl(program.command('assert').description(COMMAND_SUMMARIES.assert))
    .option('--refreshes <n|min-max>', 'refresh calls the server must have seen, e.g. 1 or 1-2', (text) => {
      const parsed = parseCountExpectation(text)
      if (parsed === undefined) throw new InvalidArgumentError('expected a count such as 1 or a range such as 1-2')
      return parsed
    })
    .option('--no-reuse', 'fail if any rotated refresh token was reused')
    .option('--json', 'print the checks as JSON (schema refresh-lab/assert@1)')
    .action(async (options: AssertOptions) => {
      const { LabApi } = await import('../harness/lab-api.js')
      const lab = new LabApi(labUrl(options.url), options.labToken)
      let stats: Awaited<ReturnType<typeof lab.stats>>
      try {
        stats = await lab.stats()
      } finally {
        await lab.close()
      }
      const expectations: Expectation[] = []
      if (options.refreshes !== undefined) expectations.push(checkCount('refresh calls (server)', options.refreshes, stats.refresh.calls))
      if (options.reuse === false) expectations.push(check('no refresh-token reuse', 0, stats.reuseDetected))
      const pass = expectations.every((e) => e.pass)
      if (options.json) {
        console.log(
          JSON.stringify(
            { schema: 'refresh-lab/assert@1', verdict: pass ? 'pass' : 'fail', url: lab.baseUrl, expectations, stats },
            null,
            2,
          ),
        )
      } else {
        for (const e of expectations)
          console.log(`  ${e.pass ? 'ok  ' : 'FAIL'} ${e.name.padEnd(26)} expected ${String(e.expected)}, got ${String(e.actual)}`)
        console.log(
          expectations.length === 0
            ? 'nothing to check: give --refreshes and/or --no-reuse'
            : pass
              ? `PASS  ${stats.refresh.calls} refresh call(s), ${stats.reuseDetected} reuse detection(s) since the last reset`
              : `FAIL  ${describeFailures(expectations)}`,
        )
      }
      process.exitCode = expectations.length === 0 ? 2 : pass ? 0 : 1
    })
}
