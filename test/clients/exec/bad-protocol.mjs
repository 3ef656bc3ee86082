// An exec client that breaks the protocol in the way named by its argument, after saying ready:
// not-json, unknown-op, unknown-id, or exit (ends during the first request).
import { createInterface } from 'node:readline'

const mode = process.argv[2]
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)
let told = false
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line)
  if (message.op === 'init') return send({ op: 'ready' })
  if (message.op === 'close') return process.exit(0)
  if (message.op !== 'request') return
  if (!told) console.error(`bad-protocol: ${mode}`)
  told = true
  if (mode === 'not-json') process.stdout.write('hello\n')
  else if (mode === 'unknown-op') send({ op: 'dance' })
  else if (mode === 'unknown-id') send({ id: 999, result: null })
  else if (mode === 'exit') process.exit(3)
})
