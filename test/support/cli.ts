import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/refresh-lab', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `refresh-lab …` as a user would, with a clean environment apart from `env`. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.env), cwd: options.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export interface ServeProcess {
  url: string
  /** The lines `serve` printed on start. */
  banner: string[]
  child: ChildProcess
  /** Sends a signal and resolves with the exit code and everything printed. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>
}

/** Spawns `refresh-lab serve` on a free port and resolves once it prints its URL. */
export function startServe(args: string[] = [], env: Record<string, string> = {}, cwd?: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: cliEnv(env), ...(cwd === undefined ? {} : { cwd }) })
  let stdout = ''
  let stderr = ''
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stdout}${stderr}`)), 15_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}:\n${stdout}${stderr}`))
    })
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (!match?.[1] || !/^lab: /m.test(stdout)) return // the last line of the banner
      clearTimeout(timer)
      resolve({
        url: match[1],
        banner: stdout.trim().split('\n'),
        child,
        async stop(signal = 'SIGTERM') {
          child.kill(signal)
          const code = await closed
          return { code, stdout, stderr }
        },
      })
    })
  })
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PATH, HOME, SYSTEMROOT } = process.env
  return { PATH, HOME, SYSTEMROOT, ...extra }
}
