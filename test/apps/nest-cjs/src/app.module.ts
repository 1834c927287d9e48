import { Module } from '@nestjs/common'
import { TypeOrmModule } from '@nestjs/typeorm'
import { dataSource } from './data-source'
import { Document } from './document.entity'
import { DocumentsService } from './documents.service'

@Module({
  imports: [
    // Nest uses the application's DataSource, the one whose storages are set.
    TypeOrmModule.forRootAsync({
      useFactory: () => dataSource.options,
      dataSourceFactory: async () => dataSource.initialize(),
    }),
    TypeOrmModule.forFeature([Document]),
  ],
  providers: [DocumentsService],
})
export class AppModule {}
