import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Listen on `HOST:PORT` (an IPv6 host in brackets; port 0 picks a free
 * one), as the config's listen addresses are written; resolves with the
 * address taken, rejects with the server's own error (EADDRINUSE, ...).
 */
export async function listenOn (server: Server, hostPort: string): Promise<AddressInfo> {
  const colon = hostPort.lastIndexOf(':')
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '')
  const port = Number(hostPort.slice(colon + 1))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server.address() as AddressInfo
}

/** The host part of a URL for an address: an IPv6 address in brackets. */
export function urlHost (address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]` : address.address
}

/** Stop listening and end every connection, keep-alive ones included. */
export async function closeServer (server: Server): Promise<void> {
  await new Promise<void>(resolve => {
    server.close(() => { resolve() })
    server.closeAllConnections()
  })
}
