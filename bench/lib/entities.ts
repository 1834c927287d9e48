/**
 * The benchmark's entities. Every column names its type (no decorator metadata under tsx).
 * Each attrstore entity has a twin without attrstore, to tell attrstore's cost from
 * TypeORM's.
 */
import 'reflect-metadata'
import { StoredAttribute, type StoredContent } from '@attrstore/typeorm'
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm'

/** attrstore, eager: `data` is a Buffer after every load. Bytes in S3. */
@Entity({ name: 'bench_s3_eager' })
export class S3Eager {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute() data!: Buffer | null
}

/** attrstore, lazy: `data` is a handle after a load; nothing downloaded. Bytes in S3. */
@Entity({ name: 'bench_s3_lazy' })
export class S3Lazy {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute({ load: 'lazy' }) data!: StoredContent | Buffer | NodeJS.ReadableStream | null
}

/** attrstore, eager, bytes in BytesFileSystemStorage. */
@Entity({ name: 'bench_fs_eager' })
export class FsEager {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute() data!: Buffer | null
}

/** TypeORM alone: the key is an ordinary column the application fills itself. */
@Entity({ name: 'bench_plain_key' })
export class PlainKey {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @Column({ type: 'varchar', length: 1024, nullable: true }) data!: string | null
}

/** What users do without attrstore: the bytes in the row. */
@Entity({ name: 'bench_bytea' })
export class ByteaRow {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @Column({ type: 'bytea', nullable: true }) data!: Buffer | null
}

/**
 * The reference checks at two table sizes: the same entity twice, each with its own
 * storage (a check looks in every table whose storage shares the location), with the
 * decorator's defaults (the key column indexed).
 */
@Entity({ name: 'bench_refs_small' })
export class RefsSmall {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute() data!: Buffer | null
}

@Entity({ name: 'bench_refs_large' })
export class RefsLarge {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute() data!: Buffer | null
}

/** What `attrstore verify` and `gc` scan (bytes in BytesFileSystemStorage). */
@Entity({ name: 'bench_cli' })
export class CliRow {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @StoredAttribute({ load: 'none' }) data!: string | null
}

/** What `attrstore migrate --from-column content` moves out of the row. */
@Entity({ name: 'bench_cli_migrate' })
export class CliMigrate {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar', length: 255 }) name!: string
  @Column({ type: 'bytea', nullable: true }) content!: Buffer | null
  @StoredAttribute({ load: 'none' }) data!: string | null
}

export const CLI_ENTITIES = [CliRow, CliMigrate]

export const ENTITIES = [
  S3Eager,
  S3Lazy,
  FsEager,
  PlainKey,
  ByteaRow,
  RefsSmall,
  RefsLarge,
  ...CLI_ENTITIES,
]

/** The raw reference's table: created and used with plain SQL. */
export const RAW_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS bench_raw (id serial PRIMARY KEY, name varchar(255) NOT NULL, data varchar(1024))'
