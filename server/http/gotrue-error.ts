import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * GoTrue's error body (`--profile supabase`, docs/server.md). A client that sends
 * `X-Supabase-Api-Version: 2024-01-01` or later (supabase-js always does) gets
 * `{"code":"<error_code>","message"}` and the version echoed; an older one gets
 * `{"code":<status>,"error_code","msg"}`. Both carry `x-sb-error-code`.
 */
export function goTrueErrorResponse(c: Context, status: number, code: string, message: string): Response {
  c.header('x-sb-error-code', code)
  const version = c.req.header('x-supabase-api-version') ?? ''
  if (/^\d{4}-\d{2}-\d{2}$/.test(version) && version >= '2024-01-01') {
    c.header('x-supabase-api-version', '2024-01-01')
    return c.json({ code, message }, status as ContentfulStatusCode)
  }
  return c.json({ code: status, error_code: code, msg: message }, status as ContentfulStatusCode)
}
