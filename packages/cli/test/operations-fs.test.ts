import { describeOperations } from './scenarios/operations.js'

describeOperations('sqlite', 'fs')
describeOperations('postgres', 'fs')
