import Fastify from 'fastify'
import { MemoryStorage } from '@attrstore/core'
import { sendObject } from '@attrstore/http'

const storage = new MemoryStorage()
const { key } = await storage.write('hello', { contentType: 'text/plain' })

const app = Fastify()
app.get<{ Params: { key: string } }>('/files/:key', async (request, reply) => {
  reply.hijack() // sendObject writes the raw response: Fastify must not send one
  await sendObject(request.raw, reply.raw, storage, request.params.key, {
    onError: (error) => request.log.error(error),
  })
})
const address = await app.listen({ port: 0, host: '127.0.0.1' })

const response = await fetch(`${address}/files/${encodeURIComponent(key)}`, {
  headers: { 'if-none-match': `"${(await storage.stat(key)).sha256}"` },
})
console.log(response.status) // 304: the client's copy is current
await app.close()
