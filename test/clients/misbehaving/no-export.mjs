// Exports the wrong thing: one readable line and exit 2.
export const client = {}
