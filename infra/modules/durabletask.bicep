// Durable Task Scheduler (durableBackend = durableTaskScheduler): the scheduler and the task hub the
// Function App's Durable extension uses (storageProvider type azureManaged, set by app settings).
param name string
param taskHubName string
param location string
param tags object
@description('The app identity: gets Durable Task Data Contributor on this scheduler.')
param principalId string

var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'Consumption'
    }
    // An empty list denies every caller; access is still by Entra ID role (Durable Task Data Contributor).
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

// The Durable extension reads and writes orchestrations, activities and entities in the task hub.
resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, principalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
