/**
 * A real Node HTTP server on 127.0.0.1 and a free port, for one test: requests go over a
 * socket, as a browser's or another process's would.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A server {@link listenOnLoopback} or {@link startHttpServer} started. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  server: Server
  /** Closes every connection (kept-alive ones included) and then the server. */
  close(): Promise<void>
}

/** Makes `server` listen on a free port of 127.0.0.1. Rejects when it cannot listen. */
export async function listenOnLoopback(server: Server): Promise<LoopbackServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

/**
 * Serves `listener` on a free port of 127.0.0.1.
 *
 * ```ts
 * const app = await startHttpServer((request, response) => response.end('hello'))
 * await fetch(app.url)
 * await app.close()
 * ```
 */
export function startHttpServer(listener: RequestListener): Promise<LoopbackServer> {
  return listenOnLoopback(createServer(listener))
}
