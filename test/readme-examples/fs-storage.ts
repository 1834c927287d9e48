import { createReadStream } from 'node:fs'
import { BytesFileSystemStorage } from '@attrstore/fs'

const storage = new BytesFileSystemStorage({ root: 'files' }) // e.g. /var/lib/myapp/files
const { key } = await storage.write(createReadStream('scan.pdf'), {
  context: { entityName: 'File', attributeName: 'data', fileName: 'scan.pdf' },
})
// key: '3f/a2/3fa2c1...-....pdf'
console.log(storage.pathOf(key)) // '<root>/3f/a2/3fa2c1...pdf' (the port of FSPATH())
