import 'reflect-metadata'
import { readFile } from 'node:fs/promises'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { S3Storage } from '@attrstore/s3'
import { StoredAttribute, setStorage, getStorageKey } from '@attrstore/typeorm'

@Entity()
class File {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @Column({ type: 'varchar' }) mimeType!: string
  // The column holds the key (varchar(1024)); the property holds the bytes.
  @StoredAttribute<File>({ contentType: (file) => file.mimeType, fileName: (file) => file.name })
  data!: Buffer | null
}

// SQLite here (PostgreSQL: { type: 'postgres', url: process.env.DATABASE_URL, ... });
// synchronize creates the table, a migration does in production.
const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: 'app.sqlite',
  entities: [File],
  synchronize: true,
})
// At start-up, before or after initialize(): the port of
// repo.system_source.set_storage('File', 'data', storage)
const storage = new S3Storage({ bucket: 's3-bucket' })
setStorage(dataSource, File, 'data', storage)
await dataSource.initialize()

const files = dataSource.getRepository(File)
const pdf = await readFile('a.pdf')
const file = await files.save(
  files.create({ name: 'a.pdf', mimeType: 'application/pdf', data: pdf }),
)
getStorageKey(file, 'data') // the key in the column (the port of STKEY() / FSPATH())
const again = await files.findOneByOrFail({ id: file.id })
console.log(`File ${again.id}: ${again.data?.length} bytes under ${getStorageKey(again, 'data')}`)

await dataSource.destroy()
storage.destroy()
