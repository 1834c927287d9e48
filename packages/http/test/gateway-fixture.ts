/**
 * The gateway's test world: a BytesFileSystemStorage and a MemoryStorage holding the same
 * objects (keys with unicode, spaces, `#`, `+`, `~`, `=`; more than 1,000 under one prefix;
 * a hidden prefix; a binary object for range reads), served on an ephemeral port.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { MemoryStorage, type AttributeStorage } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { startHttpServer } from '@attrstore/testing'
import { createS3Gateway, type S3GatewayOptions } from '../src/index.js'

export const CREDENTIAL = {
  accessKeyId: 'GATEWAYTESTKEY',
  secretAccessKey: 'gateway/test+secret=1',
}
export const REGION = 'us-east-1'
/** Keys every client must read back byte-identical. */
export const SPECIAL_KEYS = [
  'plain.txt',
  'dir/with space.txt',
  'dir/hash#1.txt',
  'dir/plus+sign.txt',
  'dir/résumé ☃ 日本.txt',
  'dir/tilde~equals=.txt',
  'deep/a/b/c.txt',
]
export const BLOB_KEY = 'blob.bin'
export const MANY = 1005
export const manyKey = (n: number): string => `many/${String(n).padStart(4, '0')}.txt`
export const HIDDEN_KEY = 'private/secret.txt'
export const BUCKETS = ['files', 'memory'] as const

export const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
/** UTF-8 byte order: S3's listing order. */
export const byUtf8 = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a), Buffer.from(b))

export interface GatewayWorld {
  endpoint: string
  contents: Map<string, Buffer>
  /** Every key a listing shows, in S3's order (hidden ones excluded). */
  visibleKeys: string[]
  storages: Record<(typeof BUCKETS)[number], AttributeStorage>
  stop(): Promise<void>
}

async function fill(storage: AttributeStorage, contents: Map<string, Buffer>): Promise<void> {
  for (const [key, bytes] of contents) {
    const written = await storage.write(bytes, { context: { fileName: key } })
    if (written.key !== key) throw new Error(`wrote ${key} as ${written.key}`)
  }
}

export async function startGatewayWorld(
  options: Partial<S3GatewayOptions> = {},
): Promise<GatewayWorld> {
  const contents = new Map<string, Buffer>()
  for (const key of SPECIAL_KEYS) contents.set(key, Buffer.from(`content of ${key}\n`))
  contents.set(BLOB_KEY, randomBytes(3 * 1024 * 1024 + 17))
  for (let n = 0; n < MANY; n++) contents.set(manyKey(n), Buffer.from(`${n}\n`))
  contents.set(HIDDEN_KEY, Buffer.from('nobody may see this\n'))
  const root = await mkdtemp(path.join(tmpdir(), 'attrstore-gateway-'))
  const keyGenerator = (context: { fileName?: string | undefined }): string => context.fileName!
  const files = new BytesFileSystemStorage({ root, fsync: false, keyGenerator })
  const memory = new MemoryStorage({ keyGenerator })
  await fill(files, contents)
  await fill(memory, contents)
  const gateway = createS3Gateway({
    buckets: { files, memory, archive: memory },
    credentials: [CREDENTIAL],
    hidden: ['archive', 'files/private/', 'memory/private/'],
    region: REGION,
    ...options,
  })
  const server = await startHttpServer(gateway)
  return {
    endpoint: server.url,
    contents,
    visibleKeys: [...contents.keys()].filter((key) => key !== HIDDEN_KEY).sort(byUtf8),
    storages: { files, memory },
    async stop() {
      await server.close()
      await gateway.close()
      await rm(root, { recursive: true, force: true })
    },
  }
}
