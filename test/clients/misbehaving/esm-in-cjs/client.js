// An ES module written as .js inside a CommonJS package (no "type": "module"), as many quick
// clients are. It must load without Node's two-line warning.
export function createClient(ctx) {
  return {
    async request(method, path) {
      const { accessToken } = await ctx.storage.load()
      const response = await ctx.fetch(`${ctx.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${accessToken}` } })
      return response.json()
    },
  }
}
