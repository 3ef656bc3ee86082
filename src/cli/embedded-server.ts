/** Starts a lab server in this process on a free loopback port, with default settings whatever the environment says. */
export async function startEmbeddedServer() {
  const { resolveServerConfig } = await import('../../server/config.js')
  const { startServer } = await import('../../server/start.js')
  return startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
}
