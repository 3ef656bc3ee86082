/**
 * Ends the process once a verdict is printed: nothing a client left behind (a timer, a socket, a
 * held request on the embedded server) may keep the CLI alive after its report. Waits for stdout
 * and stderr to take what was written, so no report is cut short on a pipe.
 */
export async function exitAfterReport(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))))
  process.exit(code)
}
