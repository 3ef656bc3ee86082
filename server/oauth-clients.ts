import { DEFAULT_CLIENT_ID, type ServerConfig } from './config.js'

export type RedirectCheck = 'ok' | 'unknown-client' | 'unregistered-redirect'

/**
 * Whether a client may be sent to a redirect URI. A registered client's URIs match exactly
 * (RFC 6749 §3.1.2.3); the built-in public client `refresh-lab-client` takes any loopback
 * redirect on any port (RFC 8252 §7.3), `localhost` included for convenience, over plain http.
 */
export function checkRedirect(config: ServerConfig, clientId: string, redirectUri: string): RedirectCheck {
  if (clientId === DEFAULT_CLIENT_ID) return isLoopbackRedirect(redirectUri) ? 'ok' : 'unregistered-redirect'
  const client = config.clients.find((registered) => registered.id === clientId)
  if (!client) return 'unknown-client'
  return client.redirectUris.includes(redirectUri) ? 'ok' : 'unregistered-redirect'
}

export function isLoopbackRedirect(uri: string): boolean {
  if (uri.length > 2_000 || uri.includes('#')) return false
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return false
  }
  if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') return false
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname) || url.hostname === '[::1]' || url.hostname === 'localhost'
}
