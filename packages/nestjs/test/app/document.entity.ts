import type { Body } from '@attrstore/core'
import { StoredAttribute, type StoredContent } from '@attrstore/typeorm'
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm'

// Every column names its type: the test transform emits no decorator metadata.
@Entity()
export class Document {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'varchar', length: 255 })
  name!: string

  @Column({ type: 'varchar', length: 255 })
  mediaType!: string

  @StoredAttribute<Document>({
    load: 'lazy',
    nullable: false,
    contentType: (document) => document.mediaType,
    fileName: (document) => document.name,
  })
  data!: StoredContent | Body
}
