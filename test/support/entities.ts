import 'reflect-metadata'
import {
  Column,
  DeleteDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  OneToMany,
  OneToOne,
  PrimaryGeneratedColumn,
} from 'typeorm'
import { StoredAttribute } from '@attrstore/typeorm'

// Explicit column types everywhere: vitest's transformer emits no decorator metadata.

@Entity()
export class Folder {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @OneToMany(() => File, (file) => file.folder, { cascade: true }) files!: File[]
}

@Entity()
export class File {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar', unique: true }) name!: string
  @Column({ type: 'varchar', default: 'application/octet-stream' }) mimeType!: string
  @StoredAttribute<File>({ contentType: (file) => file.mimeType, fileName: (file) => file.name })
  data!: unknown
  @ManyToOne(() => Folder, (folder) => folder.files, { nullable: true, onDelete: 'CASCADE' })
  folder?: Folder | null
  @DeleteDateColumn() deletedAt?: Date | null
}

/** Two stored attributes with two storages; the thumbnail is lazy. */
@Entity()
export class Document {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) title!: string
  @StoredAttribute() body!: unknown
  @StoredAttribute({ load: 'lazy' }) thumbnail!: unknown
}

@Entity()
export class LazyFile {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'integer' }) position!: number
  @StoredAttribute({ load: 'lazy' }) data!: unknown
}

@Entity()
export class KeyOnlyFile {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ load: 'none' }) data!: unknown
}

export class Attachment {
  @Column({ type: 'varchar', nullable: true }) fileName!: string | null
  @StoredAttribute() content!: unknown
}

@Entity()
export class Message {
  @PrimaryGeneratedColumn() id!: number
  @Column(() => Attachment) attachment!: Attachment
  @OneToOne(() => File, { eager: true, nullable: true }) @JoinColumn() file?: File | null
}

export const ENTITIES = [Folder, File, Document, LazyFile, KeyOnlyFile, Message]
