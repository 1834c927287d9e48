import { Module, type DynamicModule } from '@nestjs/common'
import { TypeOrmModule } from '@nestjs/typeorm'
import type { AttributeStorage } from '@attrstore/core'
import { AttrstoreModule } from '@attrstore/nestjs'
import { Document } from './document.entity.js'
import { DocumentsController } from './documents.controller.js'

/** The application: SQLite through TypeOrmModule, `Document.data` in `storage`. */
@Module({})
export class AppModule {
  static with(options: { database: string; storage: AttributeStorage }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: options.database,
          entities: [Document],
          synchronize: true,
        }),
        TypeOrmModule.forFeature([Document]),
        AttrstoreModule.forRootAsync({
          useFactory: () => ({
            storages: [{ entity: Document, attribute: 'data', storage: options.storage }],
          }),
        }),
      ],
      controllers: [DocumentsController],
    }
  }
}
