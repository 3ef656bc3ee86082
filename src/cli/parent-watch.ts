import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * Calls `onGone` once the process that started this one is gone (`serve --exit-with-parent`).
 *
 * It watches two generations, by polling, because that is what works the same on Linux and macOS:
 * - the parent: when it dies, this process is handed to init (or a subreaper), so `process.ppid`
 *   changes. Neither platform signals a child when its parent dies (Linux's PR_SET_PDEATHSIG is
 *   not reachable from Node, and macOS has none), and stdin is no help: a job started with `&` in
 *   a script has /dev/null for stdin, which reads as closed at once;
 * - the parent's parent: `npx refresh-lab serve &` runs the CLI through `sh -c`, and `kill $!`
 *   kills npm, not that shell. The shell lives on, waiting for the server, so the parent never
 *   changes; the grandparent going is what says the starter is gone.
 * A dead process may stay a zombie until reaped, which still answers `kill(pid, 0)`; its parent
 * link does not survive in /proc or `ps`, so a grandparent is checked by its link, not its pid.
 */
export function watchParent(onGone: (why: string) => void, intervalMs = 500): () => void {
  const parent = process.ppid
  const grandparent = parentOf(parent)
  const timer = setInterval(() => {
    let why: string | undefined
    if (process.ppid !== parent) why = `its parent process ${parent} is gone`
    else if (grandparent !== undefined && grandparent > 1) {
      const now = parentOf(parent) // undefined: could not tell this time, so decide nothing
      if (now !== undefined && now !== grandparent) why = `the process that started it (${grandparent}, parent of ${parent}) is gone`
    }
    if (why === undefined) return
    clearInterval(timer)
    onGone(why)
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** The parent of another process: /proc on Linux, `ps` elsewhere (macOS); undefined when unknown. */
function parentOf(pid: number): number | undefined {
  try {
    if (process.platform === 'linux') {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    }
    const ppid = Number(
      execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    )
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined
  } catch {
    return undefined
  }
}
