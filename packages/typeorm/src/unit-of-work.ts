/**
 * Which `@attrstore/attacher` unit of work records what a TypeORM statement does: one per
 * transaction (by query runner), and outside transactions one per operation (see
 * `typeorm-hooks.ts`), settled when the operation ends.
 */
import { UnitOfWork } from '@attrstore/attacher'
import type { QueryRunner } from 'typeorm'
import type { StorageBinding } from './registry.js'
import { currentOperation, type OperationScope } from './typeorm-hooks.js'

const transactionUnits = new WeakMap<QueryRunner, UnitOfWork<QueryRunner>>()
const operationUnits = new WeakMap<OperationScope, UnitOfWork<QueryRunner>>()

/**
 * The unit that records work done now through `queryRunner`: the transaction's when one is
 * active, else the current operation's (settled when the operation ends).
 */
export function unitOfWork(
  queryRunner: QueryRunner,
  binding: StorageBinding,
): UnitOfWork<QueryRunner> {
  if (transactionDepth(queryRunner) > 0) {
    let unit = transactionUnits.get(queryRunner)
    if (!unit) transactionUnits.set(queryRunner, (unit = new UnitOfWork(binding)))
    return unit
  }
  const scope = currentOperation()
  if (!scope)
    throw new Error(
      'attrstore: a write outside any TypeORM operation (this is a bug, please report it)',
    )
  let unit = operationUnits.get(scope)
  if (!unit) {
    const created = new UnitOfWork(binding, queryRunner)
    operationUnits.set(scope, created)
    scope.onEnd.push((succeeded) => created.operationEnded(succeeded))
    unit = created
  }
  return unit
}

/** The unit of a transaction on `queryRunner`, if it recorded anything. */
export function transactionUnit(
  queryRunner: QueryRunner | undefined,
): UnitOfWork<QueryRunner> | undefined {
  return queryRunner ? transactionUnits.get(queryRunner) : undefined
}

/** The unit of the current operation outside transactions, if it recorded anything. */
export function operationUnit(): UnitOfWork<QueryRunner> | undefined {
  const scope = currentOperation()
  return scope ? operationUnits.get(scope) : undefined
}

/** 0 outside a transaction, 1 in one, more inside savepoints. */
export function transactionDepth(queryRunner: QueryRunner): number {
  if (!queryRunner.isTransactionActive) return 0
  // BaseQueryRunner keeps the depth in a protected field the QueryRunner interface omits.
  const depth = 'transactionDepth' in queryRunner ? queryRunner.transactionDepth : undefined
  return typeof depth === 'number' && depth > 0 ? depth : 1
}
