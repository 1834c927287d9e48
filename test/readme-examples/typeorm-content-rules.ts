import 'reflect-metadata'
import { readFile } from 'node:fs/promises'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { ValidationError } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { StoredAttribute, setStorage } from '@attrstore/typeorm'

@Entity()
class Scan {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  // At most 10 MB, and PDFs only: told from the bytes, whatever the file is called.
  @StoredAttribute<Scan>({
    maxSize: 10_000_000,
    accept: 'application/pdf',
    fileName: (scan) => scan.name,
  })
  data!: Buffer | null
}

const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: 'app.sqlite',
  entities: [Scan],
  synchronize: true,
})
setStorage(dataSource, Scan, 'data', new BytesFileSystemStorage({ root: 'files' }))
await dataSource.initialize()
const scans = dataSource.getRepository(Scan)

const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex') // a PNG's first bytes
try {
  await scans.save(scans.create({ name: 'scan.pdf', data: png }))
} catch (error) {
  if (!(error instanceof ValidationError)) throw error
  // Nothing was stored, no row was written.
  console.log(`${error.entity}.${error.attribute}: ${error.rule} (${error.actual})`)
}
await scans.save(scans.create({ name: 'scan.pdf', data: await readFile('scan.pdf') }))
console.log(`${await scans.count()} scan saved`)

await dataSource.destroy()
