// Fills the example database: `node --import tsx examples/seed.ts [rows]` (or `pnpm tsx`).
// Invoices get their PDF in the legacy column, as before attrstore; a few attachments live
// in `files` already, and two uploads of a crashed process are left there as orphans.
import { rm } from 'node:fs/promises'
import { Attachment, dataSource, files, Invoice } from './data-source.js'

const rows = Number(process.argv[2] ?? 20_000)
await rm(files.root, { recursive: true, force: true })
await rm(dataSource.options.database as string, { force: true })
dataSource.setOptions({ synchronize: true })
await dataSource.initialize()
const invoices = dataSource.getRepository(Invoice)
for (let start = 0; start < rows; start += 500) {
  const batch = []
  for (let n = start; n < Math.min(rows, start + 500); n++) {
    const pdf = Buffer.from(`%PDF-1.7 invoice ${n} ${'x'.repeat(200 + (n % 800))}\n%%EOF\n`)
    batch.push(invoices.create({ number: `INV-${String(n + 1).padStart(6, '0')}`, legacyPdf: pdf }))
  }
  await invoices.insert(batch)
}
await dataSource
  .getRepository(Attachment)
  .save([{ content: Buffer.from('terms and conditions') }, { content: Buffer.from('logo') }])
// Uploads whose rows were never committed (a process killed mid-transaction).
await files.write(Buffer.from('an upload that was never committed'))
await files.write(Buffer.from('another one'))
await dataSource.destroy()
console.log(`seeded ${rows} invoices, 2 attachments and 2 orphans under ${files.root}`)
