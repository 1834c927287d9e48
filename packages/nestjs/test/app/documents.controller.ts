import type { Readable } from 'node:stream'
import {
  Controller,
  Get,
  Headers,
  NotFoundException,
  Param,
  ParseIntPipe,
  Put,
  Req,
  Res,
} from '@nestjs/common'
import { InjectRepository } from '@nestjs/typeorm'
import { getStorageKey, type StoredContent } from '@attrstore/typeorm'
import type { Repository } from 'typeorm'
import {
  sendStoredObject,
  UploadStream,
  type NestRequest,
  type NestResponse,
} from '@attrstore/nestjs'
import { Document } from './document.entity.js'

/** Uploads as a raw body (streamed to the storage), downloads through `sendStoredObject`. */
@Controller('documents')
export class DocumentsController {
  // An explicit token: no decorator metadata tells Nest the parameter's type.
  constructor(@InjectRepository(Document) private readonly documents: Repository<Document>) {}

  @Put(':name')
  async upload(
    @Param('name') name: string,
    @Headers('content-type') mediaType: string | undefined,
    @UploadStream() body: Readable,
  ): Promise<{ id: number; key: string | null | undefined }> {
    const document = this.documents.create({
      name,
      mediaType: mediaType ?? 'application/octet-stream',
      data: body,
    })
    const saved = await this.documents.save(document)
    return { id: saved.id, key: getStorageKey(saved, 'data') }
  }

  @Get(':id')
  async download(
    @Param('id', ParseIntPipe) id: number,
    @Req() request: NestRequest,
    @Res() response: NestResponse,
  ): Promise<void> {
    const document = await this.documents.findOneBy({ id })
    // Thrown before the response is touched: Nest's exception filters still answer.
    if (!document) throw new NotFoundException(`no document ${id}`)
    // `data` is lazy: a handle on the object (its storage and key), nothing downloaded yet.
    const content = document.data as StoredContent
    await sendStoredObject(request, response, content.storage, content.key, {
      contentType: document.mediaType,
      fileName: document.name,
    })
  }
}
