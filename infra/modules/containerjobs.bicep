// The compute plane for AmlCompute steps: a Container Apps environment (consumption, scales to zero) and a
// manually triggered job running the step-runner image (repository Dockerfile) as its own identity (the step
// identity: AcrPull and Storage Blob Data Contributor only, since user code runs with it). Each step is one job
// execution, started by the app (Container Apps Jobs Operator on this job) with the step's spec in its environment.
param environmentName string
param jobName string
param location string
param tags object
param logAnalyticsId string
param identityId string
param identityClientId string
param registryServer string
param image string
param storageBlobEndpoint string
@description('The app identity: starts executions of the job (Container Apps Jobs Operator on the job only).')
param operatorPrincipalId string

var jobsOperator = 'b9a307c4-5aa3-4b52-ba60-2b17c136cd7b'

// Until the postdeploy hook has built the Dockerfile into the registry, the job points at a public sample
// image, so that provisioning never depends on an image that is not there yet.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // Logs reach Log Analytics through the diagnostic setting below (no workspace shared key needed).
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs'
  scope: environment
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource job 'Microsoft.App/jobs@2024-03-01' = {
  name: jobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      replicaTimeout: 86400
      replicaRetryLimit: 0
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'step-runner'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          env: [
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              name: 'DURABLEML_STORAGE_BLOB_ENDPOINT'
              value: storageBlobEndpoint
            }
          ]
        }
      ]
    }
  }
}

// The Function App starts one execution per AmlCompute step; it may start and stop this job, nothing else.
resource operator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(job.id, operatorPrincipalId, jobsOperator)
  scope: job
  properties: {
    principalId: operatorPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', jobsOperator)
  }
}

output jobId string = job.id
output environmentId string = environment.id
