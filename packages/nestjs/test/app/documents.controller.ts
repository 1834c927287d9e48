import type { Readable } from 'node:stream'
import {
  Controller,
  Get,
  Headers,
  Inject,
  NotFoundException,
  Param,
  ParseIntPipe,
  Put,
  Req,
  Res,
} from '@nestjs/common'
import { InjectRepository } from '@nestjs/typeorm'
import { getStorageKey } from '@attrstore/typeorm'
import type { Repository } from 'typeorm'
import {
  sendStoredAttribute,
  sendStoredObject,
  StorageRegistrations,
  UploadStream,
  type NestRequest,
  type NestResponse,
} from '@attrstore/nestjs'
import { Document } from './document.entity.js'

/** Uploads as a raw body (streamed to the storage), downloads through `sendStoredAttribute` (by row) and `sendStoredObject` (by key). */
@Controller('documents')
export class DocumentsController {
  // An explicit token: no decorator metadata tells Nest the parameter's type.
  constructor(
    @InjectRepository(Document) private readonly documents: Repository<Document>,
    @Inject(StorageRegistrations) private readonly registrations: StorageRegistrations,
  ) {}

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
    await sendStoredAttribute(request, response, document, 'data')
  }

  /** By key, for the storage's own objects: the storage is the one the module registered. */
  @Get('by-key/:key')
  async byKey(
    @Param('key') key: string,
    @Req() request: NestRequest,
    @Res() response: NestResponse,
  ): Promise<void> {
    await sendStoredObject(request, response, this.registrations.storageOf(Document, 'data')!, key)
  }
}
