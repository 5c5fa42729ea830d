// Blob-created events for data-change schedules: an Event Grid system topic on the service's storage
// account and a subscription that delivers Microsoft.Storage.BlobCreated into a storage queue of the same
// account, with the topic's own identity (no keys, no webhook secret). The Function App reads that queue.
param name string
param subscriptionName string
param location string
param tags object
param storageName string
param queueName string
param deploymentContainer string

// Queue Data Message Sender: Event Grid may add messages to the account's queues, nothing else.
var queueSenderRole = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource topic 'Microsoft.EventGrid/systemTopics@2024-06-01-preview' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource topicSendsToQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, topic.id, queueSenderRole)
  scope: storage
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueSenderRole)
  }
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2024-06-01-preview' = {
  parent: topic
  name: subscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storage.id
          queueName: queueName
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // The service's own writes (Functions host, Durable task hub, deployment packages) are not data changes.
      advancedFilters: [
        {
          operatorType: 'StringNotBeginsWith'
          key: 'subject'
          values: [
            '/blobServices/default/containers/azure-webjobs-'
            '/blobServices/default/containers/durableml-leases'
            '/blobServices/default/containers/durableml-largemessages'
            '/blobServices/default/containers/${deploymentContainer}/'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
  dependsOn: [
    topicSendsToQueue
  ]
}

output topicName string = topic.name
