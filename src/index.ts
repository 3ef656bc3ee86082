/**
 * refresh-lab as a library. Importing it starts nothing: `startLab()` starts a server when called,
 * `createLab()` the same lab with no port.
 *
 * @example
 * import { startLab } from 'refresh-lab'
 * import { createReferenceClient } from 'refresh-lab/client'
 * import { runBurst } from 'refresh-lab/harness'
 */
export { startLab, type FaultOptions, type LabControls, type LabOptions, type RunningLab } from './start-lab.js'
export type { LabClockState, LabConfigView, LabEvent, LabEventsPage, LabSession, LabStats } from './shared/wire.js'
export { formatDuration, parseDuration } from './shared/duration.js'
export type { Profile } from './shared/profiles.js'
export { createLab, type InProcessLab } from './lab-handler.js'
