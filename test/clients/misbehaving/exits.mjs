// A client that ends its own process in the middle of a request: the harness must give a verdict
// ("client exited with code 0 during request r1") and exit non-zero, never a silent exit 0.
export function createClient() {
  return {
    async request() {
      process.exit(0)
    },
  }
}
