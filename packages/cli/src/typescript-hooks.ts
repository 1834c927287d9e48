import { existsSync, readFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import path from 'node:path'
import { parseTsconfig } from 'get-tsconfig'

/** Set once TypeScript hooks are registered in this process (also by our own test launcher). */
const TYPESCRIPT_REGISTERED = Symbol.for('attrstore.cli.tsx-registered')

/** Which compiler loads TypeScript data sources, and why. */
export type TypeScriptCompiler = 'swc' | 'tsx'

/** How a TypeScript file is loaded: `require`d as CommonJS, or `import`ed as an ES module. */
export type ModuleFormat = 'commonjs' | 'module'

/** The hooks registered for a data source, and how to load it through them. */
export interface TypeScriptHooks {
  compiler: TypeScriptCompiler
  format: ModuleFormat
}

/**
 * The compiler for a tsconfig: SWC when it asks for `emitDecoratorMetadata` (tsx, built on
 * esbuild, drops decorator metadata, and TypeORM needs it to guess the type of
 * `@Column() name: string`), tsx otherwise (faster to start, no native binary).
 */
export function compilerFor(tsconfig: string | false): TypeScriptCompiler {
  if (tsconfig === false) return 'tsx'
  return parseTsconfig(tsconfig).compilerOptions?.emitDecoratorMetadata === true ? 'swc' : 'tsx'
}

/** The `"type"` of the package.json nearest above `directory`, "commonjs" when none says. */
function packageType(directory: string): ModuleFormat {
  for (let at = directory; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'package.json')
    if (existsSync(candidate)) {
      try {
        const type = (JSON.parse(readFileSync(candidate, 'utf8')) as { type?: unknown }).type
        return type === 'module' ? 'module' : 'commonjs'
      } catch {
        return 'commonjs'
      }
    }
    if (path.dirname(at) === at) return 'commonjs'
  }
}

/**
 * How TypeScript compiles `file` under `tsconfig`, as `tsc` would: CommonJS for
 * `"module": "commonjs"` (NestJS's default) and for `node16`/`nodenext` when Node would take
 * the file for CommonJS (`.cts`, or `.ts` outside a `"type": "module"` package); an ES module
 * otherwise. A CommonJS project's extension-less relative imports (`'./entities/file'`) only
 * resolve through `require`.
 */
export function moduleFormatFor(file: string, tsconfig: string | false): ModuleFormat {
  if (/\.mts$/.test(file)) return 'module'
  const module = tsconfig === false ? undefined : parseTsconfig(tsconfig).compilerOptions?.module
  const kind = typeof module === 'string' ? module.toLowerCase() : undefined
  const byNode = /\.cts$/.test(file) ? 'commonjs' : packageType(path.dirname(file))
  if (kind === 'commonjs') return /\.ts$/.test(file) && byNode === 'module' ? 'module' : 'commonjs'
  if (kind === 'node16' || kind === 'node18' || kind === 'node20' || kind === 'nodenext')
    return byNode
  return 'module'
}

/**
 * Registers the hooks that compile TypeScript on load, once per process: for SWC, its
 * CommonJS `require` hook for a CommonJS `file` (load it with `require`) or its ES module
 * hook otherwise; for tsx, both. Returns what is in use, or undefined when hooks were
 * registered by someone else (load the file with `import`).
 */
export async function registerTypeScript(
  file: string,
  tsconfig: string | false,
): Promise<TypeScriptHooks | undefined> {
  const globals = globalThis as Record<symbol, unknown>
  if (globals[TYPESCRIPT_REGISTERED]) return undefined
  const compiler = compilerFor(tsconfig)
  let format: ModuleFormat = 'module'
  if (compiler === 'swc') {
    // @swc-node/register reads the tsconfig (decorator options included) from the environment,
    // in this thread and in the thread of the module hooks alike.
    if (tsconfig !== false) process.env.SWC_NODE_PROJECT ??= tsconfig
    format = moduleFormatFor(file, tsconfig)
    if (format === 'module') register('@swc-node/register/esm', import.meta.url)
    const require = createRequire(import.meta.url)
    ;(require('@swc-node/register/register') as { register(): unknown }).register()
  } else {
    // tsx's CommonJS hook reads the tsconfig path from the environment.
    if (tsconfig !== false) process.env.TSX_TSCONFIG_PATH ??= tsconfig
    const esm = await import('tsx/esm/api')
    esm.register({ tsconfig })
    const cjs = await import('tsx/cjs/api')
    cjs.register()
  }
  globals[TYPESCRIPT_REGISTERED] = true
  return { compiler, format }
}
