import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { createUrlSigner, serveSignedUrl } from '@attrstore/http'

const storage = new BytesFileSystemStorage({ root: 'files' })
const { key } = await storage.write(Buffer.from('%PDF-1.7 minutes report'))

// The route that serves signed URLs, e.g. app.get('/files/signed', ...) in Express.
const server = createServer((request, response) => {
  void serveSignedUrl(request, response, storage, signer)
})
server.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const { port } = server.address() as AddressInfo

const signer = createUrlSigner({
  secrets: process.env.URL_SECRET ?? 'a secret of at least 32 bytes, from your config',
  baseUrl: `http://127.0.0.1:${port}/files/signed`,
})
const { url, expiresAt } = signer.signedUrl(storage, key, {
  expiresIn: 600,
  disposition: 'attachment',
  fileName: 'minutes.pdf',
})
const download = await fetch(url)
const tampered = await fetch(url.replace('minutes.pdf', 'evil.html'))
console.log(download.status, download.headers.get('content-disposition'), tampered.status)
console.log(`valid until ${expiresAt.toISOString()}`)
server.close()
