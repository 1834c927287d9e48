import { StoredAttribute } from '@attrstore/typeorm'
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm'

@Entity()
export class Document {
  @PrimaryGeneratedColumn()
  id: number

  // No explicit type: TypeORM reads it from the decorator metadata tsc emits.
  @Column()
  name: string

  @StoredAttribute()
  content: Buffer | null
}
