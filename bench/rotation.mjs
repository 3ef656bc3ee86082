/**
 * autocannon requests for a rotation loop: each request spends a live refresh token from the shared
 * queue and puts back the one it got. A per-connection context would not do: autocannon wipes it
 * after each request, and every call after the first would spend a rotated token (a 401 reuse).
 */
export function rotationLoop(tokens) {
  return [
    {
      method: 'POST',
      path: '/api/auth/refresh',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ refresh_token: tokens.shift() }) }),
      onResponse: (status, body) => {
        if (status === 200) tokens.push(JSON.parse(body).data.refresh_token)
      },
    },
  ]
}
