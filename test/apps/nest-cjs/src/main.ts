import { NestFactory } from '@nestjs/core'
import { AppModule } from './app.module'
import { DocumentsService } from './documents.service'

async function bootstrap() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false })
  const result = await app.get(DocumentsService).roundTrip('hello.txt', 'hello from nest')
  console.log(JSON.stringify(result))
  await app.close()
}

void bootstrap()
