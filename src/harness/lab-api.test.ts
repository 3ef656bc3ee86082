import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HarnessError } from './errors.js'
import { LabApi } from './lab-api.js'

let server: Server | undefined

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A server that answers every call with this status and JSON body. */
async function answering(status: number, body: unknown): Promise<LabApi> {
  server = createServer((_, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)))
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return new LabApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, undefined)
}

const failureOf = async (api: LabApi) => {
  try {
    await api.stats()
  } catch (error) {
    return error
  } finally {
    await api.close()
  }
  throw new Error('the call succeeded')
}

describe('LabApi reading a 404', () => {
  it.each([
    ['ROUTE_NOT_FOUND', 'no route GET /_lab/stats', 'unreachable'],
    // refresh-lab 0.1, before ROUTE_NOT_FOUND: only the message names a missing route.
    ['NOT_FOUND', 'no route GET /_lab/stats', 'unreachable'],
    ['NOT_FOUND', 'no session fam_1', 'usage'],
  ])('takes %s "%s" as a %s error', async (code, message, kind) => {
    const error = await failureOf(await answering(404, { error: { code, message } }))
    expect(error).toBeInstanceOf(HarnessError)
    expect((error as HarnessError).kind).toBe(kind)
  })
})
