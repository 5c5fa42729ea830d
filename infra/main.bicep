// durableml on Azure: everything `azd up` creates, in one resource group.
// Offline checks: tests/infra/test_bicep.py (pycep-parser, checkov, structural tests). docs/deploy.md explains each part.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name (letters, digits, hyphens); names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region for all resources (one with Flex Consumption, Container Apps and, if used, Durable Task Scheduler).')
param location string

@description('Object id of the user running azd: gets Key Vault Secrets Officer so they can put secrets the product references by name. Empty: none.')
param principalId string = ''

@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
@description('Durable Functions backend: the storage account (default, nothing extra to pay) or the Durable Task Scheduler (higher orchestration throughput).')
param durableBackend string = 'azureStorage'

@minValue(0)
@maxValue(10)
@description('Always-ready instances for the HTTP functions (0: scale to zero when idle; each one is billed while it waits).')
param alwaysReadyInstances int = 0

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance (MB).')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 40

@allowed([
  'key'
  'entra'
])
@description('How REST endpoints authenticate callers: function keys, or Entra ID tokens validated by App Service authentication.')
param authMode string = 'key'

@description('Entra ID app registration (client id) whose tokens the endpoints accept when authMode is entra.')
param entraClientId string = ''

@description('Comma-separated object ids allowed to call published endpoints when authMode is entra (empty: any token for the app).')
param allowedPrincipals string = ''

@description('Step-runner image for AmlCompute steps (empty: a placeholder until the postdeploy hook builds infra/../Dockerfile in the registry).')
param stepRunnerImage string = ''

@minValue(30)
@maxValue(730)
@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 30

@description('Tags for every resource.')
param tags object = {}

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var useScheduler = durableBackend == 'durableTaskScheduler'

// Every resource name in one place, so tests/infra/test_bicep.py can compute them for any environment name.
var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-${resourceToken}'
  stepIdentity: 'id-step-${resourceToken}'
  storage: 'st${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  appInsights: 'appi-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  registry: 'cr${resourceToken}'
  containerEnv: 'cae-${resourceToken}'
  stepJob: 'caj-step-${resourceToken}'
  scheduler: 'dts-${resourceToken}'
  taskHub: 'durableml'
  systemTopic: 'evgt-${resourceToken}'
  blobEventsSubscription: 'blob-created'
  deploymentContainer: 'app-package-${resourceToken}'
  blobEventsQueue: 'durableml-blob-events'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: allTags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: allTags
  }
}

// The step-runner job's own identity: user code in a step runs with it, so it gets only what a step needs
// (pull its image, read its spec and inputs, write its outputs), not the app's roles (Key Vault, queues, tables).
module stepIdentity 'modules/identity.bicep' = {
  name: 'step-identity'
  scope: rg
  params: {
    name: names.stepIdentity
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: allTags
    retentionDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: allTags
    deploymentContainer: names.deploymentContainer
    blobEventsQueue: names.blobEventsQueue
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: allTags
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: names.registry
    location: location
    tags: allTags
  }
}

module scheduler 'modules/durabletask.bicep' = if (useScheduler) {
  name: 'durabletask'
  scope: rg
  params: {
    name: names.scheduler
    taskHubName: names.taskHub
    location: location
    tags: allTags
    principalId: identity.outputs.principalId
  }
}

module stepJob 'modules/containerjobs.bicep' = {
  name: 'containerjobs'
  scope: rg
  params: {
    environmentName: names.containerEnv
    jobName: names.stepJob
    location: location
    tags: allTags
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    identityId: stepIdentity.outputs.id
    identityClientId: stepIdentity.outputs.clientId
    registryServer: registry.outputs.loginServer
    image: stepRunnerImage
    storageBlobEndpoint: storage.outputs.blobEndpoint
    operatorPrincipalId: identity.outputs.principalId
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    stepPrincipalId: stepIdentity.outputs.principalId
    userPrincipalId: principalId
    storageName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    registryName: registry.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: names.plan
    name: names.functionApp
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainer: names.deploymentContainer
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    alwaysReadyInstances: alwaysReadyInstances
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    useScheduler: useScheduler
    schedulerEndpoint: useScheduler ? scheduler.outputs.endpoint : ''
    taskHubName: names.taskHub
    authMode: authMode
    entraClientId: entraClientId
    allowedPrincipals: allowedPrincipals
    keyVaultUri: keyVault.outputs.uri
    stepJobId: stepJob.outputs.jobId
    blobEventsQueue: names.blobEventsQueue
    workspaceName: environmentName
    resourceGroupName: names.resourceGroup
  }
  dependsOn: [
    roles
  ]
}

module events 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: names.systemTopic
    subscriptionName: names.blobEventsSubscription
    location: location
    tags: allTags
    storageName: storage.outputs.name
    queueName: names.blobEventsQueue
    deploymentContainer: names.deploymentContainer
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_STEP_JOB_NAME string = names.stepJob
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output DURABLEML_ENDPOINT string = functionApp.outputs.endpoint
// The Function App in the Azure portal (Durable Functions instances, logs, Application Insights).
output DURABLEML_STUDIO_URL string = 'https://portal.azure.com/#resource${functionApp.outputs.id}/overview'
// durableml's own studio page, served by the Function App (triggers/studio.py); with authMode entra, App Service
// authentication signs users in with Entra ID in front of it.
output DURABLEML_STUDIO_PAGE_URL string = '${functionApp.outputs.endpoint}/api/studio'
output DURABLEML_DURABLE_BACKEND string = durableBackend
