// The service's storage account: the Functions host (AzureWebJobsStorage), the Durable task hub (Azure
// Storage backend), durableml's records, datastores' default container, and the deployment package.
// No account keys: shared-key access is off, every caller uses Entra ID.
param name string
param location string
param tags object
param deploymentContainer string
param blobEventsQueue string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:default-deny would lock out the app: this template creates no VNet (Flex Consumption without VNet integration reaches it over its public endpoint, guarded by Entra ID RBAC); docs/deploy.md says how to add private endpoints
  // checkov:skip=CKV_AZURE_59:public network access stays on: this template creates no VNet (Flex Consumption without VNet integration reaches it over its public endpoint, guarded by Entra ID RBAC); docs/deploy.md says how to add private endpoints; blob public (anonymous) access IS off
  // checkov:skip=CKV_AZURE_206:LRS keeps the cost at rest lowest; run records and outputs can be re-created by re-running; set GRS for production data
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      requireInfrastructureEncryption: true
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Event Grid delivers Microsoft.Storage.BlobCreated events here (modules/eventgrid.bicep).
resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: blobEventsQueue
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
