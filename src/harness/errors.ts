/**
 * Why a harness run could not produce a verdict at all, as opposed to a verdict of "fail".
 * `usage`: the options or the client module are wrong (exit 2). `unreachable`: no lab server
 * answers at the URL (exit 3).
 */
export class HarnessError extends Error {
  constructor(
    readonly kind: 'usage' | 'unreachable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'HarnessError'
  }
}
