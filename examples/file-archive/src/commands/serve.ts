/**
 * `serve [--port N] [--host H]`: the archive's web page (list, upload, download, preview)
 * until SIGINT or SIGTERM. Prints the URL on stdout; an access log goes to stderr.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { UserError } from '../errors.js'
import { createArchiveServer } from '../web/server.js'
import type { CommandContext } from './shared.js'

export interface ServeOptions {
  /** Default 8080; 0 picks a free port. */
  port?: string | undefined
  /** Default 127.0.0.1: the page has no login, so it is not offered to the network unless asked. */
  host?: string | undefined
  /** Resolves when the server should stop. Default: SIGINT or SIGTERM. */
  stopped?: Promise<unknown>
}

export async function serveCommand(
  context: CommandContext,
  options: ServeOptions = {},
): Promise<void> {
  const port = Number(options.port ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`serve: --port must be a port number, not ${JSON.stringify(options.port)}`)
  const host = options.host ?? '127.0.0.1'
  const server = createArchiveServer(context.archive, {
    log: (line) => void process.stderr.write(`${line}\n`),
  })
  server.listen(port, host)
  await once(server, 'listening')
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  context.print(`serving the archive at http://${shown}:${address.port}/ (Ctrl-C stops)`)
  await (options.stopped ?? Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]))
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
}
