import { describeOperations } from './scenarios/operations.js'

describeOperations('sqlite', 's3')
describeOperations('postgres', 's3')
