import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real `redis-server` (Debian's package) for the `--store redis://…` tests, on a free loopback
 * port with its own temporary directory: no mock. Where there is none the tests are skipped with a
 * note, unless `REFRESH_LAB_REQUIRE_REDIS=1` (which `.ci/run` sets after installing it), where a
 * missing server is a failure. `REDIS_SERVER` names another binary.
 */
export const REDIS_SERVER = process.env['REDIS_SERVER'] || (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : findOnPath())
export const REDIS_REQUIRED = process.env['REFRESH_LAB_REQUIRE_REDIS'] === '1'
export const NO_REDIS_NOTE =
  "Redis store tests skipped: no redis-server found (install Debian's redis-server, or set REDIS_SERVER; .ci/run does and runs them)"

function findOnPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  return found.status === 0 && path !== '' ? path : undefined
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly dir: string
  /** Stops it (SIGTERM: with appendonly, it syncs its file first) and waits. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port and directory (after `stop`). */
  restart(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Starts `redis-server` and resolves once it accepts connections. `appendonly` keeps every write in its AOF, fsynced before Redis answers it (`appendfsync always`). */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<RedisServer> {
  if (REDIS_SERVER === undefined) throw new Error(NO_REDIS_NOTE)
  const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-redis-'))
  const port = await freePort()
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ]
  let child: ChildProcess | undefined
  const launch = async () => {
    const started = spawn(REDIS_SERVER as string, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    let out = ''
    started.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    started.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    // Ready once a PING answers; bounded, so a server that cannot start fails the test with its output.
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}: ${out}`)
      if (await pings(port)) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`redis-server did not answer on port ${port}: ${out}`)
  }
  await launch()
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill(signal)
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    stop,
    restart: launch,
  }
}

/** Stops it and removes its directory. */
export async function removeRedis(redis: RedisServer | undefined): Promise<void> {
  if (!redis) return
  await redis.stop()
  rmSync(redis.dir, { recursive: true, force: true })
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let answer = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString()
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
  })
}
