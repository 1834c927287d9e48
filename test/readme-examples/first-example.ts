// first-example.ts, an ES module ("type": "module" in package.json: top-level await works),
// compiled with "experimentalDecorators": true in tsconfig.json (TypeORM's decorators and
// attrstore's are the legacy kind). S3 credentials and endpoint: the SDK's usual variables
// (AWS_ACCESS_KEY_ID..., AWS_S3_ENDPOINT_URL for an S3-compatible server).
import 'reflect-metadata'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { S3Storage } from '@attrstore/s3'
import {
  StoredAttribute,
  setStorage,
  getStorageKey,
  type StoredAttributeValue,
} from '@attrstore/typeorm'

@Entity()
class File {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() data!: StoredAttributeValue // the column holds the key; the property, the bytes
}

// SQLite here (PostgreSQL: { type: 'postgres', url: process.env.DATABASE_URL, ... }).
// synchronize creates the table; in production, create it with a migration.
const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: 'app.sqlite',
  entities: [File],
  synchronize: true,
})
// The port of repo.system_source.set_storage('File', 'data', storage):
const storage = S3Storage.fromUrl('s3://my-bucket/files')
setStorage(dataSource, File, 'data', storage)
await dataSource.initialize()

const files = dataSource.getRepository(File)
const pdf = await readFile('report.pdf')
const file = await files.save(files.create({ name: 'report.pdf', data: pdf })) // uploaded, then INSERT
console.log(`saved File ${file.id} under key ${getStorageKey(file, 'data')}`) // the key in the column
file.data = createReadStream('report-v2.pdf') // any body, streams included
await files.save(file) // new object under a new key; the old one is deleted after the commit
await files.remove(file) // the object is deleted after the commit; a rollback deletes only new uploads

await dataSource.destroy()
storage.destroy()
