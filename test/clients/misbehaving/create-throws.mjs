// A client whose createClient throws: one readable line and exit 2, before any scenario runs.
export function createClient() {
  throw new Error('no API key configured')
}
