#!/usr/bin/env node
import { main } from './cli.js'

const code = await main(process.argv.slice(2))
// Let stdout and stderr drain, then leave even if a driver keeps a socket open.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()))
process.exit(code)
