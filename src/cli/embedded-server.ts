import type { ServerFlags } from '../../server/config.js'

/**
 * Starts a lab server in this process on a free loopback port. Only the settings given here apply,
 * whatever the environment says, so an embedded run is the same on every machine.
 */
export async function startEmbeddedServer(flags: Pick<ServerFlags, 'profile'> = {}) {
  const { resolveServerConfig } = await import('../../server/config.js')
  const { startServer } = await import('../../server/start.js')
  return startServer(resolveServerConfig({ ...flags, host: '127.0.0.1', port: '0' }, {}))
}
