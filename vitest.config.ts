import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/build.ts'],
    // End-to-end tests spawn the CLI and open real sockets; give them room on a 2-core machine.
    testTimeout: 30_000,
    // vitest's default on two cores is one worker, so every file waits for the last. Most of the long
    // files spend their time waiting on real time (scenario delays, spawned CLIs), not on the CPU.
    maxWorkers: 3,
    // Test files share a worker's modules instead of each importing the server, zod, hono and jose
    // afresh: the suite's import time fell from 42 s to 18 s and its CPU by about a fifth (issue 13).
    // No test mocks modules; the one that patches the global fetch (msw, test/lab-handler.test.ts)
    // restores it, and each file starts and stops its own servers. A check that needs a fresh realm
    // (which undici Agent a tab pools on) runs in a worker thread of its own.
    isolate: false,
    hookTimeout: 30_000,
  },
})
