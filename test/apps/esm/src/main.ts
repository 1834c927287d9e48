import { MemoryStorage } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import { dataSource, Document } from './data-source.js'

await dataSource.initialize()
const documents = dataSource.getRepository(Document)
const saved = await documents.save(
  documents.create({ name: 'hello.txt', content: Buffer.from('hello from esm') }),
)
const loaded = await documents.findOneByOrFail({ id: saved.id })
// Another package of the set, through its ES-module entry point.
const memory = new MemoryStorage()
const { key: memoryKey } = await memory.write('in memory')
console.log(
  JSON.stringify({
    id: loaded.id,
    name: loaded.name,
    key: getStorageKey(loaded, 'content'),
    content: loaded.content?.toString(),
    memory: String(await memory.read(memoryKey)),
  }),
)
await dataSource.destroy()
