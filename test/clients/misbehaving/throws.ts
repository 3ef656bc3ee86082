// The first bug anyone's own client has: an exception of its own. Its message and this file's
// line must show in the table, the timeline, --json and JUnit.
import type { ClientContext } from '../../../src/client/contract.js'

export function createClient(_ctx: ClientContext) {
  return {
    async request(): Promise<unknown> {
      throw new TypeError('oops')
    },
  }
}
