// The peer: oauth2-mock-server, whose token endpoint mints tokens with no store and no rotation.
import { OAuth2Server } from 'oauth2-mock-server'

const server = new OAuth2Server()
await server.issuer.keys.generate('RS256')
await server.start(0, '127.0.0.1')
console.log(`listening on ${server.issuer.url}`)
process.on('SIGTERM', () => server.stop().then(() => process.exit(0)))
