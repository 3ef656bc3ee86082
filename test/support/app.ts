import { expect } from 'vitest'
import { createApp } from '../../server/app.js'
import { resolveServerConfig, type ServerFlags } from '../../server/config.js'

/** In-process calls to the app with `app.request()`: no socket, as hono's own tests do. */
export interface CallOptions {
  json?: unknown
  /** Sent form-encoded, as OAuth clients do. */
  form?: Record<string, string>
  body?: string
  token?: string
  headers?: Record<string, string>
}

export function lab(flags: ServerFlags = {}) {
  const secret = flags.alg === undefined || flags.alg === 'HS256' ? { secret: 'test-secret-test-secret-test-secret' } : {}
  const { app, lab } = createApp(resolveServerConfig({ ...secret, ...flags }, {}))
  const call = async (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      options = { ...options, body: new URLSearchParams(options.form).toString() }
    }
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`
    let body = options.body
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    }
    const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as any) }
  }
  const login = async (email = 'demo@example.com', password = 'password') => {
    const res = await call('POST', '/api/auth/login', { json: { email, password } })
    expect(res.status).toBe(200)
    return res.body.data as { access_token: string; refresh_token: string; expires_in: number }
  }
  const refresh = (refreshToken: unknown) => call('POST', '/api/auth/refresh', { json: { refresh_token: refreshToken } })
  const advance = (by: string) => call('POST', '/_lab/clock', { json: { advance: by } })
  return { app, lab, call, login, refresh, advance }
}

export function decode(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
}
