import type { AddressInfo } from 'node:net'
import express from 'express'
import { MemoryStorage } from '@attrstore/core'
import { sendObject } from '@attrstore/http'

const storage = new MemoryStorage()
const { key } = await storage.write('hello', { contentType: 'text/plain' })

const app = express()
app.get('/files/:key', async (request, response) => {
  // Never rejects: failures are answered (404, 503, 500) and told to onError.
  await sendObject(request, response, storage, request.params.key, {
    onError: (error) => console.error(error),
  })
})
const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const { port } = server.address() as AddressInfo

const response = await fetch(`http://127.0.0.1:${port}/files/${encodeURIComponent(key)}`)
console.log(response.status, response.headers.get('etag'), await response.text())
server.close()
