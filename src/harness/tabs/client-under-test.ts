import { HarnessError } from '../errors.js'
import type { RecordingStorage } from '../memory-storage.js'
import { createCallBudget, now, type CallEnd, type CallSink, type CallStart, type FetchRecord } from '../recording-fetch.js'
import type { ClientSpec } from './client-spec.js'
import { compiledClient } from './compile-client.js'
import { ExecTab } from './exec-tab.js'
import { InProcessTab } from './in-process-tab.js'
import type { TabAnswer } from './messages.js'
import type { ClientTab, TabHost } from './tab.js'
import { LockTable } from './web-locks.js'
import { WorkerTab } from './worker-tab.js'

export interface ClientUnderTestOptions {
  spec: ClientSpec
  baseUrl: string
  /** Client instances sharing one storage, like tabs of one browser origin. */
  tabs: number
  /** Connections each tab may keep open. */
  connections: number
  refreshPath: string
  /** HTTP calls the tabs may make between them; the first refused call calls `onLimit`. */
  maxCalls: number
  storage: RecordingStorage
  onLimit: () => void
  /**
   * Run each request under its id, so the calls it causes carry it (what a timeline draws); default
   * true. An `AsyncLocalStorage` context per request costs a 10 000-request burst about a fifth of
   * its memory, so a run that draws no timeline turns it off (issue 14).
   */
  tagRequests?: boolean
}

/**
 * The client being judged, as the harness holds it: its tabs, the storage, locks and call log they
 * share, and how many times it signed out. Lifecycle (docs/clients.md): `open` starts every tab and
 * loads the client, `create` calls `createClient(ctx)` in each, then requests, then `close`.
 */
export class ClientUnderTest implements CallSink {
  readonly calls: FetchRecord[] = []
  readonly budget = createCallBudget()
  onLogoutCalls = 0
  readonly #tabs: ClientTab[]
  readonly #origin = now()

  private constructor(
    readonly spec: ClientSpec,
    options: ClientUnderTestOptions,
    compiled: string | undefined,
  ) {
    const host: TabHost = {
      baseUrl: options.baseUrl,
      refreshPath: options.refreshPath,
      connections: options.connections,
      storage: options.storage,
      locks: new LockTable(),
      sink: this,
      budget: this.budget,
      maxCalls: options.maxCalls,
      tagRequests: options.tagRequests ?? true,
      onLogout: () => void (this.onLogoutCalls += 1),
      onLimit: options.onLimit,
    }
    this.#tabs = Array.from({ length: options.tabs }, (_, index) => makeTab(index + 1, host, options.spec, compiled))
  }

  /** Starts every tab and loads the client in it; a client that cannot load is a usage error. */
  static async open(options: ClientUnderTestOptions): Promise<ClientUnderTest> {
    const { spec } = options
    const client = new ClientUnderTest(spec, options, spec.kind === 'module' ? await compiledClient(spec.file) : undefined)
    await client.#step((tab) => tab.start(), `cannot load client ${options.spec.name}`)
    return client
  }

  /** Calls `createClient(ctx)` in every tab: after the sign-in, like an app's cold start with a saved session. */
  async create(): Promise<void> {
    await this.#step((tab) => tab.create(), `client ${this.spec.name}`)
  }

  request(tab: number, id: string, method: string, path: string, body: unknown): Promise<TabAnswer> {
    return (this.#tabs[tab] as ClientTab).request(id, method, path, body)
  }

  /** Calls refused past the budget. */
  get refused(): number {
    return Atomics.load(this.budget, 1)
  }

  /** Why a tab ended by itself, if one did. */
  get died(): string | undefined {
    return this.#tabs.find((tab) => tab.died !== undefined)?.died
  }

  /** What the client printed, tab by tab. */
  get output(): string {
    if (this.#tabs.length === 1) return this.#tabs[0]?.output ?? ''
    return this.#tabs
      .filter((tab) => tab.output !== '')
      .map((tab) => `[tab ${tab.tab}]\n${tab.output}`)
      .join('\n')
  }

  /** What the client printed, trimmed for a report: only for a verdict that did not pass. */
  printed(): { clientOutput?: string } {
    const output = this.output.trim()
    return output === '' ? {} : { clientOutput: output.length > 2000 ? `…${output.slice(-2000)}` : output }
  }

  /**
   * True when the client's calls, or at least its refreshes, did not go through the harness's fetch
   * (an exec client, got, axios's http adapter, a refresh sent with a fetch of its own): requests
   * succeeded or refreshes reached the server, yet none was recorded. Then only the server's counts
   * are real.
   */
  bypassedFetch(seen: { succeeded: number; serverRefreshes: number }): boolean {
    if (this.spec.kind === 'exec') return true
    if (this.calls.length === 0) return seen.succeeded > 0 || seen.serverRefreshes > 0
    // Its requests went through ctx.fetch but its refreshes did not (a separate refresh client).
    return seen.serverRefreshes > 0 && !this.calls.some((call) => call.refresh)
  }

  close(): Promise<unknown> {
    return Promise.all(this.#tabs.map((tab) => tab.close()))
  }

  start(call: CallStart): number {
    const { at, ...rest } = call
    this.calls.push({ seq: this.calls.length + 1, ...rest, startedAt: at - this.#origin })
    return this.calls.length - 1
  }

  end(key: number, end: CallEnd): void {
    const record = this.calls[key]
    if (!record) return
    record.endedAt = end.at - this.#origin
    if (end.status !== undefined) record.status = end.status
    if (end.error !== undefined) record.error = end.error
  }

  async #step(action: (tab: ClientTab) => Promise<void>, what: string): Promise<void> {
    const results = await Promise.allSettled(this.#tabs.map(action))
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (!failed) return
    await this.close()
    const output = this.output.trim().split('\n').slice(-3).join(' | ')
    const reason = (failed.reason as Error).message
    throw new HarnessError('usage', `${what}: ${reason}${output === '' || reason.includes(output) ? '' : ` (it printed: ${output})`}`, {
      cause: failed.reason,
    })
  }
}

function makeTab(tab: number, host: TabHost, spec: ClientSpec, compiled: string | undefined): ClientTab {
  switch (spec.kind) {
    case 'built-in':
      return new WorkerTab(tab, host, { builtIn: spec.name })
    case 'module':
      return new WorkerTab(tab, host, compiled === undefined ? { file: spec.file } : { file: spec.file, compiled })
    case 'exec':
      return new ExecTab(tab, host, spec.command)
    case 'function':
      return new InProcessTab(tab, host, spec.createClient)
  }
}
