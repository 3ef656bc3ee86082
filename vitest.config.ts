import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/build.ts'],
    // End-to-end tests spawn the CLI and open real sockets; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
