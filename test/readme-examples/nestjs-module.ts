import 'reflect-metadata'
import type { Readable } from 'node:stream'
import { Controller, Get, Module, Param, ParseIntPipe, Put, Req, Res } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { AttrstoreModule, sendStoredAttribute, UploadStream } from '@attrstore/nestjs'
import type { NestRequest, NestResponse } from '@attrstore/nestjs'
import { StoredAttribute, type StoredContent } from '@attrstore/typeorm'
import { Column, Entity, PrimaryGeneratedColumn, type Repository } from 'typeorm'

@Entity()
class Attachment {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute<Attachment>({ load: 'lazy', fileName: (attachment) => attachment.name })
  data!: StoredContent | Readable
}

@Controller('attachments')
class AttachmentsController {
  // @InjectRepository names what to inject: no type metadata needed (tsx emits none).
  constructor(@InjectRepository(Attachment) private readonly attachments: Repository<Attachment>) {}

  @Put(':name') // the body streams to the storage, never buffered
  async upload(@Param('name') name: string, @UploadStream() body: Readable) {
    const { id } = await this.attachments.save(this.attachments.create({ name, data: body }))
    return { id }
  }

  @Get(':id') // ranges, If-None-Match (304), HEAD, a safe Content-Disposition
  async download(
    @Param('id', ParseIntPipe) id: number,
    @Req() req: NestRequest,
    @Res() res: NestResponse,
  ) {
    const attachment = await this.attachments.findOneByOrFail({ id }) // lazy: nothing downloaded
    await sendStoredAttribute(req, res, attachment, 'data')
  }
}

const files = new BytesFileSystemStorage({ root: 'files' })

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'better-sqlite3',
      database: 'app.sqlite',
      entities: [Attachment],
      synchronize: true,
    }),
    TypeOrmModule.forFeature([Attachment]),
    AttrstoreModule.forRoot({
      storages: [{ entity: Attachment, attribute: 'data', storage: files }],
    }),
  ],
  controllers: [AttachmentsController],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error'] })
await app.listen(0, '127.0.0.1')
const url = `http://127.0.0.1:${app.getHttpServer().address().port}/attachments`
const put = await fetch(`${url}/notes.txt`, { method: 'PUT', body: 'hello, ranges' })
const { id } = (await put.json()) as { id: number }
const part = await fetch(`${url}/${id}`, { headers: { range: 'bytes=7-12' } })
console.log(part.status, part.headers.get('content-range'), await part.text()) // 206 bytes 7-12/13 ranges
const etag = part.headers.get('etag')!
console.log((await fetch(`${url}/${id}`, { headers: { 'if-none-match': etag } })).status) // 304
await app.close()
