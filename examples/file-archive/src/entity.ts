/**
 * The archive's one entity. Everything but `data` is an ordinary column; `data` is a
 * stored attribute: its column holds the storage key, its bytes live in the storage that
 * `setStorage(dataSource, File, 'data', storage)` registered at start-up.
 */
import type { Body } from '@attrstore/core'
import { StoredAttribute, type StoredContent } from '@attrstore/typeorm'
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  type ValueTransformer,
} from 'typeorm'

/** PostgreSQL returns `bigint` as a string: sizes are numbers in this program. */
const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
}

// Every column names its type: under tsx (esbuild), TypeScript's decorator metadata, from
// which TypeORM would guess types, is not emitted.
@Entity({ name: 'archived_file' })
export class File {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number

  /** Unique name in the archive, e.g. `photos/2026/beach.jpg`. */
  @Column({ type: 'varchar', length: 1024, unique: true })
  name!: string

  @Column({ type: 'varchar', length: 255 })
  mediaType!: string

  /** Bytes, as imported. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  size!: number

  /** Hex SHA-256 of the content, computed while importing. */
  @Column({ type: 'varchar', length: 64 })
  sha256!: string

  @CreateDateColumn()
  createdAt!: Date

  @UpdateDateColumn()
  updatedAt!: Date

  /**
   * The content. `load: 'lazy'`: loading a File downloads nothing; `data` is then a
   * `StoredContent` handle with `stream()`, `buffer()` and `stat()`. Assign a `Readable`
   * (or a Buffer) to store new content.
   */
  @StoredAttribute<File>({
    load: 'lazy',
    nullable: false,
    contentType: (file) => file.mediaType,
    fileName: (file) => file.name,
  })
  data!: StoredContent | Body
}
