import type { CreateClient } from '../contract.js'
import { createFaultyClient, type RefreshBug } from './interceptor.js'

export type { RefreshBug } from './interceptor.js'

/**
 * The built-in faulty clients by name. Each reproduces one bug that real apps ship; the harness
 * must catch every one of them, and `refresh-lab run` shows which scenario does.
 */
export const FAULTY_CLIENTS: Readonly<Record<string, { bug: RefreshBug; summary: string }>> = Object.freeze({
  naive: { bug: 'no-lock', summary: 'no single-flight lock: each 401 refreshes on its own' },
  'stale-capture': { bug: 'stale-capture', summary: 'reads the refresh token when the request starts; a late 401 replays a rotated one' },
  'access-only': { bug: 'access-only', summary: 'saves the new access token but never the rotated refresh token' },
  'logout-on-any-error': { bug: 'logout-on-any-error', summary: 'signs out on a network error during refresh' },
  'body-lost': { bug: 'body-lost', summary: 'retries a POST without its body' },
  'self-intercept': { bug: 'self-intercept', summary: 'its refresh call goes through its own 401 handler and waits on itself' },
  'retry-forever': { bug: 'retry-forever', summary: 'refreshes and retries again whenever the retry gets a 401 too, without end' },
  'unawaited-save': { bug: 'unawaited-save', summary: 'does not wait for the rotated tokens to be saved before retrying' },
  'logout-on-5xx': { bug: 'logout-on-5xx', summary: 'signs out when /refresh answers 500 or 503' },
})

export function faultyClient(name: string): CreateClient | undefined {
  const entry = FAULTY_CLIENTS[name]
  return entry && ((ctx) => createFaultyClient(ctx, entry.bug))
}
