import type { CreateClient } from '../../client/contract.js'
import type { TabAnswer } from './messages.js'
import { tabSettings, type ClientTab, type TabHost } from './tab.js'
import { createTabRuntime } from './tab-runtime.js'

/**
 * A tab in the harness's own thread, for a `createClient` function handed to the programmatic API.
 * Not isolated: a client that exits or blocks takes the caller with it, and tabs share module
 * state. The CLI never uses it; give the API a module path for isolation.
 */
export class InProcessTab implements ClientTab {
  readonly died = undefined
  readonly output = ''
  readonly #runtime: ReturnType<typeof createTabRuntime>

  constructor(
    readonly tab: number,
    host: TabHost,
    createClient: CreateClient,
  ) {
    this.#runtime = createTabRuntime({
      createClient,
      ...tabSettings(tab, host),
      sink: host.sink,
      storage: host.storage,
      onLogout: () => host.onLogout(),
      onLimit: () => host.onLimit(),
    })
  }

  async start(): Promise<void> {}

  async create(): Promise<void> {
    this.#runtime.create()
  }

  request(id: string, method: string, path: string, body: unknown): Promise<TabAnswer> {
    return this.#runtime.answer(id, method, path, body)
  }

  close(): Promise<void> {
    return this.#runtime.close()
  }
}
