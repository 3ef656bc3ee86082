// The generation client choosing retryDroppedRefresh: a correct choice, which every must-level scenario accepts.
import type { ClientContext } from '../../../src/client/contract.js'
import { createGenerationClient } from './generation-client.js'

export const createClient = (ctx: ClientContext) => createGenerationClient(ctx, { retryDroppedRefresh: true })
