import { Injectable } from '@nestjs/common'
import { InjectRepository } from '@nestjs/typeorm'
import { getStorageKey } from '@attrstore/typeorm'
import { Repository } from 'typeorm'
import { Document } from './document.entity'

@Injectable()
export class DocumentsService {
  constructor(@InjectRepository(Document) private readonly documents: Repository<Document>) {}

  /** Saves a document, loads it back and reports what was stored where. */
  async roundTrip(name: string, content: string) {
    const saved = await this.documents.save(
      this.documents.create({ name, content: Buffer.from(content) }),
    )
    const loaded = await this.documents.findOneByOrFail({ id: saved.id })
    return {
      id: loaded.id,
      name: loaded.name,
      key: getStorageKey(loaded, 'content'),
      content: loaded.content.toString(),
    }
  }
}
