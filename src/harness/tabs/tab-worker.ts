/**
 * The entry of a worker tab: one client instance in its own thread, as a browser tab or an app
 * process has its own. Its thread may start before its run does (`prewarmTabWorker`); the `start`
 * message then says which client to load and where the server is. It loads the client module,
 * builds the context (the recording fetch, the storage and `navigator.locks` shared through the
 * harness, `onLogout`), then answers requests. See docs/clients.md for the lifecycle.
 */
import { parentPort } from 'node:worker_threads'
import type { StoredTokens, TokenStorage, Tokens } from '../../client/contract.js'
import { BUILT_IN_CLIENTS } from '../../client/index.js'
import { type CallEnd, type CallStart, runtimeAgentClass } from '../recording-fetch.js'
import { loadClientModule } from './load-module.js'
import type { FromTab, TabWorkerData, ToTab } from './messages.js'
import { createTabRuntime } from './tab-runtime.js'
import { createLockManager } from './web-locks.js'

const port = parentPort
if (!port) throw new Error('tab-worker runs only as a worker thread')
// Before the client module loads, which may replace the global dispatcher it is read from.
runtimeAgentClass()
const post = (message: FromTab) => port.postMessage(message)

let nextStorageCall = 1
const storageCalls = new Map<number, { resolve: (value: StoredTokens | null) => void; reject: (error: Error) => void }>()
function storageCall(op: 'load' | 'clear' | 'save', tokens?: Tokens): Promise<StoredTokens | null> {
  return new Promise((resolve, reject) => {
    const call = nextStorageCall++
    storageCalls.set(call, { resolve, reject })
    post(
      op === 'save'
        ? {
            type: 'storage',
            call,
            op,
            tokens: { accessToken: tokens?.accessToken as string, refreshToken: tokens?.refreshToken as string },
          }
        : { type: 'storage', call, op },
    )
  })
}
const storage: TokenStorage = {
  load: () => storageCall('load') as Promise<StoredTokens>,
  save: async (tokens) => void (await storageCall('save', tokens)),
  clear: async () => void (await storageCall('clear')),
}

// The tabs of one run share an origin's locks, held by the harness.
const locks = createLockManager((call) => post({ type: 'lock', call }))
const navigatorObject = (globalThis as { navigator?: object }).navigator
if (navigatorObject) Object.defineProperty(navigatorObject, 'locks', { value: locks.manager, configurable: true })
else Object.defineProperty(globalThis, 'navigator', { value: { locks: locks.manager }, configurable: true, writable: true })

let nextCallKey = 1
const sink = {
  start(call: CallStart): number {
    const key = nextCallKey++
    post({ type: 'call-start', key, call })
    return key
  },
  end(key: number, end: CallEnd): void {
    post({ type: 'call-end', key, end })
  },
}

async function boot(data: TabWorkerData) {
  const clientFile = 'file' in data.client ? data.client.file : undefined
  const createClient =
    'builtIn' in data.client ? BUILT_IN_CLIENTS[data.client.builtIn] : await loadClientModule(data.client.file, data.client.compiled)
  if (!createClient) throw new Error(`unknown built-in client ${JSON.stringify(data.client)}`)
  const { client: _, ...settings } = data
  return createTabRuntime({
    createClient,
    ...(clientFile === undefined ? {} : { clientFile }),
    ...settings,
    sink,
    storage,
    onLogout: () => post({ type: 'logout' }),
    onLimit: () => post({ type: 'call-limit' }),
  })
}

let runtime: ReturnType<typeof boot> = new Promise(() => undefined)

port.on('message', (message: ToTab) => {
  switch (message.type) {
    case 'start':
      runtime = boot(message.data)
      runtime.then(
        () => post({ type: 'loaded' }),
        (error: Error) => post({ type: 'failed', message: error.message }),
      )
      return
    case 'create':
      void runtime.then((tab) => {
        try {
          tab.create()
          post({ type: 'created' })
        } catch (error) {
          post({ type: 'failed', message: (error as Error).message })
        }
      })
      return
    case 'request':
      void runtime.then(async (tab) =>
        post({
          type: 'answer',
          id: message.id,
          answer: cloneable(await tab.answer(message.id, message.method, message.path, message.body)),
        }),
      )
      return
    case 'storage': {
      const pending = storageCalls.get(message.call)
      storageCalls.delete(message.call)
      if (message.error !== undefined) pending?.reject(new Error(message.error))
      else pending?.resolve(message.result ?? null)
      return
    }
    case 'lock':
      locks.onReply(message.reply)
      return
  }
})

/** A resolved value that cannot cross threads (a Response, a function) is described instead. */
function cloneable<T>(value: T): T | { ok: true; value: string } {
  try {
    structuredClone(value)
    return value
  } catch {
    const answer = value as { ok: boolean; value?: unknown }
    return { ok: true, value: `[${Object.prototype.toString.call(answer.value).slice(8, -1)} that cannot be reported]` }
  }
}
