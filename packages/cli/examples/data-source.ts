// The example data source for `attrstore -d examples/data-source.ts`: what an application
// that is adopting attrstore would ship for the CLI. Invoices used to keep their PDF in a
// `legacy_pdf` blob column; they now keep it in a filesystem storage, and `pdf` holds the
// key. `oldFiles` is where an earlier version of the application kept files on disk.
import 'reflect-metadata'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { StoredAttribute, setStorage } from '@attrstore/typeorm'
import { Column, DataSource, DeleteDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm'

const here = path.dirname(fileURLToPath(import.meta.url))
const data = process.env.EXAMPLE_DATA ?? path.join(here, 'var')

@Entity()
export class Invoice {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 40 }) number!: string
  /** The old column, still there until the migration is done; never loaded. */
  @Column({ name: 'legacy_pdf', type: 'blob', nullable: true, select: false })
  legacyPdf?: Buffer | null
  @StoredAttribute({ load: 'lazy', contentType: 'application/pdf' }) pdf!: Buffer | null
  @DeleteDateColumn({ type: 'datetime' }) deletedAt!: Date | null
}

@Entity()
export class Attachment {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @StoredAttribute({ load: 'lazy' }) content!: Buffer | null
}

export const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: path.join(data, 'app.sqlite'),
  entities: [Invoice, Attachment],
})

/** Where the application keeps its files now. */
export const files = new BytesFileSystemStorage({ root: path.join(data, 'files') })
/** Where an earlier version kept them: `attrstore migrate --from oldFiles` moves them to `files`. */
export const oldFiles = new BytesFileSystemStorage({ root: path.join(data, 'old-files') })

setStorage(dataSource, Invoice, 'pdf', files)
setStorage(dataSource, Attachment, 'content', files)
