import { describeTypeormScenarios } from '../support/scenarios.js'

describeTypeormScenarios('postgres', 's3')
