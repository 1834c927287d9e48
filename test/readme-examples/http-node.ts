import { createReadStream } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { sendObject } from '@attrstore/http'

const storage = new BytesFileSystemStorage({ root: 'files' })
const { key } = await storage.write(createReadStream('scan.pdf'))

const server = createServer((request, response) => {
  void sendObject(request, response, storage, key, {
    fileName: 'scan.pdf', // also gives the type: application/pdf, shown inline
    cacheControl: 'private, max-age=3600',
    onError: (error, { status }) => console.error(`download failed (${status}):`, error),
  })
})
server.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const { port } = server.address() as AddressInfo

const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { range: 'bytes=0-7' } })
console.log(response.status, response.headers.get('content-range'), await response.text())
server.close()
