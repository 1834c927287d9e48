import { createReadStream } from 'node:fs'
import { BytesFileSystemStorage } from '@attrstore/fs'

const storage = new BytesFileSystemStorage({ root: 'files' }) // e.g. /var/lib/myapp/files
const { key, size, sha256 } = await storage.write(createReadStream('scan.pdf'), {
  context: { fileName: 'scan.pdf' },
})
const firstKiB = await storage.read(key, { range: { start: 0, end: 1023 } })
await storage.verify(key) // re-hashes and compares with the recorded SHA-256
await storage.delete(key) // idempotent
console.log(`wrote ${size} bytes (SHA-256 ${sha256}) under ${key}; read back ${firstKiB.length}`)
