/** The harness as a library: run a burst against any refresh-lab server from your own tests. */
export { runBurst, type BurstOptions } from './burst.js'
export { formatBurstReport, type BurstReport } from './burst-report.js'
export type { Expectation } from './expectations.js'
export { HarnessError } from './errors.js'
export { LabApi } from './lab-api.js'
