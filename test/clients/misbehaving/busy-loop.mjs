// A client whose request never yields: a synchronous busy loop. --timeout must still end the run.
export function createClient() {
  return {
    async request() {
      for (;;) {
        // spin
      }
    },
  }
}
