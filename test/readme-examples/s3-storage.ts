import fs from 'node:fs'
import { S3Storage } from '@attrstore/s3'

// AWS, default credentials (an S3-compatible server: AWS_S3_ENDPOINT_URL)
const storage = new S3Storage({ bucket: 'files', prefix: 'app' })
const minio = S3Storage.fromUrl('s3+http://localhost:9000/files/app')

const { key, sha256 } = await storage.write(fs.createReadStream('scan.pdf'), {
  contentType: 'application/pdf',
})
const stream = await storage.readStream(key) // the SDK's stream, not buffered
const head = await storage.read(key, { range: { start: 0, end: 1023 } }) // Range header
await storage.delete(key)
console.log(`${key} (SHA-256 ${sha256}): read ${head.length} bytes; ${minio.location}`)
stream.destroy()
storage.destroy()
minio.destroy()
