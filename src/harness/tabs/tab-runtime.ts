import type { Client, CreateClient, TokenStorage } from '../../client/contract.js'
import { createTabFetch, requestTag, type CallSink } from '../recording-fetch.js'
import { describeRejection } from './client-error.js'
import type { TabAnswer } from './messages.js'
import type { TabSettings } from './tab.js'

export interface TabRuntimeOptions extends TabSettings {
  createClient: CreateClient
  /** The module's path, so errors can point at the user's own line. */
  clientFile?: string
  sink: CallSink
  storage: TokenStorage
  onLogout: () => void
  onLimit: () => void
}

/**
 * One tab's client, wherever it runs (its own worker thread, or in-process for the programmatic
 * API): the recording fetch, the context handed to `createClient`, and each request run under its
 * id so every call it causes is tagged with it.
 */
export function createTabRuntime(options: TabRuntimeOptions) {
  const tabFetch = createTabFetch({
    connections: options.connections,
    refreshPath: options.refreshPath,
    budget: options.budget,
    maxCalls: options.maxCalls,
    sink: options.sink,
    onLimit: options.onLimit,
    tab: options.tab,
  })
  let client: Client | undefined

  return {
    /** Calls `createClient(ctx)`; throws one readable line when it throws or returns no client. */
    create(): void {
      let made: unknown
      try {
        made = options.createClient({
          baseUrl: options.baseUrl,
          fetch: tabFetch.fetch,
          storage: options.storage,
          onLogout: options.onLogout,
        })
      } catch (error) {
        const failure = describeRejection(error, options.clientFile)
        throw new Error(`createClient(ctx) threw ${failure.name === undefined ? `${failure.code}: ${failure.message}` : failure.code}`)
      }
      if (typeof (made as Partial<Client> | null | undefined)?.request !== 'function') {
        throw new Error('createClient(ctx) must return an object with a request(method, path, body) function')
      }
      client = made as Client
    },

    async answer(id: string, method: string, path: string, body: unknown): Promise<TabAnswer> {
      if (!client) throw new Error('request before createClient')
      const ready = client
      try {
        const run = () => Promise.resolve().then(() => ready.request(method, path, body))
        const value = await (options.tagRequests ? requestTag.run({ id }, run) : run())
        return { ok: true, value }
      } catch (error) {
        return { ok: false, failure: describeRejection(error, options.clientFile) }
      }
    },

    close: () => tabFetch.close(),
  }
}
