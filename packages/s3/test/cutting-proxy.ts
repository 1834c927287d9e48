import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of an S3 server that can cut connections mid-answer: fault
 * injection for what a server killed (or a network lost) in the middle of a body looks
 * like to the client. Requests pass whole; once `cutAfter(bytes)` is armed, each
 * connection is destroyed (both ends) as soon as more than `bytes` of answer have come
 * back on it.
 */
export interface CuttingProxy {
  /** `http://127.0.0.1:<port>`: give it to S3Storage as the endpoint. */
  endpoint: string
  /** Cut every connection after `bytes` bytes of answer (undefined: pass everything). */
  cutAfter(bytes: number | undefined): void
  /** How many connections were cut so far. */
  readonly cuts: number
  close(): Promise<void>
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target)
  let limit: number | undefined
  let cuts = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname)
    sockets.add(client).add(upstream)
    let answered = 0
    const cut = (): void => {
      cuts++
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => {
      if (limit !== undefined && answered + chunk.length > limit) {
        client.write(chunk.subarray(0, Math.max(limit - answered, 0)), cut)
        answered = limit
        return
      }
      answered += chunk.length
      client.write(chunk)
    })
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('end', () => to.end())
      from.on('error', () => to.destroy())
      from.on('close', () => {
        sockets.delete(from)
        to.destroy()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    cutAfter(bytes) {
      limit = bytes
    },
    get cuts() {
      return cuts
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
