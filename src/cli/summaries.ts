/**
 * What each command does, in one line: shown by its own `--help` and by the program's, which
 * lists the commands without loading them (src/cli/program.ts).
 */
export const COMMAND_SUMMARIES = {
  serve: 'run the mock auth server on 127.0.0.1 for your app to point at',
  exec: 'start the lab, run a command with REFRESH_LAB_URL set, stop the lab and exit with its code',
  burst: 'fire N parallel authed requests after the access token expired; pass only if exactly one /refresh happened',
  run: 'run the conformance scenarios (default: all built in) against one client; pass only if every one holds',
  expire: 'expire the current access tokens now (instead of waiting 35 seconds), so the next request must refresh',
  stats: "print the server's counters since it started or was last reset",
  reset: 'forget every session and zero the counters, so `assert` counts from here',
  assert: "check the server's counters since the last reset, after your app ran against `serve`; exits like burst",
} as const satisfies Record<string, string>
