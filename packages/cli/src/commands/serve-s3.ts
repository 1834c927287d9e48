import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { createS3Gateway, type GatewayCredential } from '@attrstore/http'
import { EXIT, positiveInteger, UsageError, type Command } from '../command.js'
import { loadDataSource } from '../data-source-loader.js'
import { gatewayBuckets } from '../serve-s3.js'

/** Where the key pair clients sign with comes from: never the command line (ps shows it). */
export const CREDENTIAL_ENV = {
  accessKeyId: 'ATTRSTORE_S3_ACCESS_KEY_ID',
  secretAccessKey: 'ATTRSTORE_S3_SECRET_ACCESS_KEY',
} as const

const HELP = `Usage: attrstore serve-s3 -d <data-source> [options]

Serves the storages of a data-source module through a read-only S3 gateway: the aws CLI,
boto3, s3cmd, rclone, the SDKs and web viewers (Neuroglancer) list and read them.

      --bucket <name>=<Entity.attribute>  serve the storage registered for that attribute
      --bucket <name>=<export>            serve a storage the module exports
                                          (repeatable; default: one bucket per stored
                                          attribute, named entity-attribute)
      --host <host>           address to listen on (default 127.0.0.1: this machine only)
      --port <n>              port (default 9000; 0: any free port)
      --anonymous             serve unsigned requests too
      --hide <bucket[/prefix]> answer it as absent, never list it (repeatable)
      --cors-origin <origin>  let web pages of this origin read (repeatable; * for any)
      --region <region>       the region clients sign for (default us-east-1)
      --tsconfig <file>       tsconfig.json for a TypeScript data source

Signed requests use the key pair in ${CREDENTIAL_ENV.accessKeyId} and
${CREDENTIAL_ENV.secretAccessKey}; without them, --anonymous is required.
Ctrl-C or SIGTERM stops it: open requests finish, then it exits.`

const OPTIONS = {
  'data-source': { type: 'string', short: 'd' },
  tsconfig: { type: 'string' },
  bucket: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  anonymous: { type: 'boolean' },
  hide: { type: 'string', multiple: true },
  'cors-origin': { type: 'string', multiple: true },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** `attrstore serve-s3`: a long-running server, so it parses and stops on its own. */
export const serveS3Command: Command = {
  name: 'serve-s3',
  summary: 'serve the storages read-only to S3 clients (aws CLI, rclone, viewers)',
  help: HELP,
  async run(args, io) {
    let values
    try {
      values = parseArgs({
        args: [...args],
        options: OPTIONS,
        strict: true,
        allowPositionals: false,
      }).values
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    if (values.help) {
      io.stdout.write(`${HELP}\n`)
      return EXIT.ok
    }
    const file = values['data-source']
    if (!file) throw new UsageError('-d, --data-source <file> is required')
    const port = values.port === '0' ? 0 : (positiveInteger(values.port, 'port') ?? 9000)
    const accessKeyId = process.env[CREDENTIAL_ENV.accessKeyId]
    const secretAccessKey = process.env[CREDENTIAL_ENV.secretAccessKey]
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
      throw new UsageError(
        `set both ${CREDENTIAL_ENV.accessKeyId} and ${CREDENTIAL_ENV.secretAccessKey}, or neither`,
      )
    const credentials: GatewayCredential[] =
      accessKeyId && secretAccessKey ? [{ accessKeyId, secretAccessKey }] : []
    if (!credentials.length && !values.anonymous)
      throw new UsageError(
        `no credentials: set ${CREDENTIAL_ENV.accessKeyId} and ${CREDENTIAL_ENV.secretAccessKey}, or pass --anonymous`,
      )
    const origins = values['cors-origin'] ?? []

    // The database is never queried: only the storages the module registers or exports.
    const loaded = await loadDataSource(file, { tsconfig: values.tsconfig })
    try {
      const buckets = gatewayBuckets(loaded, values.bucket ?? [])
      const gateway = createS3Gateway({
        buckets,
        credentials,
        anonymous: values.anonymous === true,
        hidden: values.hide ?? [],
        ...(values.region ? { region: values.region } : {}),
        ...(origins.length ? { cors: { origins: origins.includes('*') ? '*' : origins } } : {}),
      })
      const server = http.createServer(gateway)
      const host = values.host ?? '127.0.0.1'
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, resolve)
      })
      const address = server.address() as AddressInfo
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      io.stdout.write(
        `Serving S3 on http://${shown}:${address.port}/ (buckets: ${Object.keys(buckets).join(', ')})\n`,
      )
      const signal = await new Promise<string>((resolve) => {
        const unsubscribe = io.onInterrupt?.((received) => {
          unsubscribe?.()
          resolve(received)
        })
      })
      io.stderr.write(`${signal}: shutting down\n`)
      server.closeIdleConnections()
      await new Promise((resolve) => server.close(resolve))
      await gateway.close()
      return EXIT.ok
    } finally {
      await loaded.destroy().catch(() => {})
    }
  },
}
