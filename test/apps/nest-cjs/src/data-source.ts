// The application's DataSource, for Nest (see app.module.ts) and for `attrstore -d`.
import 'reflect-metadata'
import * as path from 'path'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { setStorage } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import { Document } from './document.entity'

const data = process.env.APP_DATA ?? path.resolve('var')

export const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: path.join(data, 'app.sqlite'),
  entities: [Document],
  synchronize: true,
})

export const files = new BytesFileSystemStorage({ root: path.join(data, 'files') })

setStorage(dataSource, Document, 'content', files)
