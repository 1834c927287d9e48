// The application's DataSource, for main.ts and for `attrstore -d`.
import 'reflect-metadata'
import path from 'node:path'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { StoredAttribute, setStorage } from '@attrstore/typeorm'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'

@Entity()
export class Document {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() content!: Buffer | null
}

const data = process.env.APP_DATA ?? path.resolve('var')

export const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: path.join(data, 'app.sqlite'),
  entities: [Document],
  synchronize: true,
})

export const files = new BytesFileSystemStorage({ root: path.join(data, 'files') })

setStorage(dataSource, Document, 'content', files)
