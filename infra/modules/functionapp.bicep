// The Function App on the Flex Consumption plan (FC1, Linux, Python 3.11), running as the user-assigned
// identity. Every storage connection is identity-based: AzureWebJobsStorage__* with credential
// managedidentity, as the Functions host expects; no account key or connection string anywhere.
param planName string
param name string
param location string
param tags object
param identityId string
param identityClientId string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainer string
param appInsightsConnectionString string
param alwaysReadyInstances int
param instanceMemoryMB int
param maximumInstanceCount int
param useScheduler bool
param schedulerEndpoint string
param taskHubName string
param authMode string
param entraClientId string
param allowedPrincipals string
param keyVaultUri string
param stepJobId string
param blobEventsQueue string
param workspaceName string
param resourceGroupName string

// Host settings. host.json keeps the Azure Storage backend; the Durable Task Scheduler backend is switched
// on by app settings that override host.json (AzureFunctionsJobHost__<path>), so one package serves both.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: blobEndpoint
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: queueEndpoint
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: tableEndpoint
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

var schedulerSettings = [
  {
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'azureManaged'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__hubName'
    value: taskHubName
  }
]

// durableml's own settings (the names the code reads; tests/infra/test_bicep.py checks the list).
var durablemlSettings = [
  {
    name: 'DURABLEML_AUTH'
    value: authMode
  }
  {
    name: 'DURABLEML_ALLOWED_PRINCIPALS'
    value: allowedPrincipals
  }
  {
    name: 'DURABLEML_STATE_DIR'
    value: '/tmp/durableml'
  }
  {
    name: 'DURABLEML_WORKSPACE_NAME'
    value: workspaceName
  }
  {
    name: 'DURABLEML_SUBSCRIPTION_ID'
    value: subscription().subscriptionId
  }
  {
    name: 'DURABLEML_RESOURCE_GROUP'
    value: resourceGroupName
  }
  {
    name: 'DURABLEML_LOCATION'
    value: location
  }
  {
    name: 'DURABLEML_KEY_VAULT_URI'
    value: keyVaultUri
  }
  {
    // AmlCompute steps run as executions of the Container Apps job (durableml/compute/containerapps), never here
    name: 'DURABLEML_AMLCOMPUTE_BACKEND'
    value: 'containerapps'
  }
  {
    name: 'DURABLEML_STEP_JOB_ID'
    value: stepJobId
  }
  {
    name: 'DURABLEML_BLOB_EVENTS_QUEUE'
    value: blobEventsQueue
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:zone redundancy on Flex Consumption needs always-ready instances in several zones, which defeats scale to zero; a production user sets it
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:the REST API is what SDK clients call from anywhere; callers need a function key or an Entra ID token
  // checkov:skip=CKV_AZURE_17:callers authenticate with function keys or Entra ID tokens; client certificates would need a certificate per client
  // checkov:skip=CKV_AZURE_212:scale to zero is the point of this deployment (alwaysReadyInstances raises the floor)
  // checkov:skip=CKV_AZURE_213:Flex Consumption has no health-check path setting; the platform replaces unhealthy instances
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertMode: 'Optional'
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        alwaysReady: alwaysReadyInstances > 0 ? [
          {
            name: 'http'
            instanceCount: alwaysReadyInstances
          }
        ] : []
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(hostSettings, useScheduler ? schedulerSettings : [], durablemlSettings)
    }
  }
}

// App Service authentication, on only when authMode is entra (platform.enabled). authMode entra: it validates Entra ID tokens for the app registration and passes
// the caller's principal to durableml (X-MS-CLIENT-PRINCIPAL-ID). Unauthenticated requests still reach the
// app, because the SDK's management calls use function keys; durableml's published routes require the
// principal themselves (durableml/service/access.py). The studio (/api/studio) signs browser users in through
// App Service's own login endpoint (/.auth/login/aad?post_login_redirect_uri=/api/studio, which the page links
// to) and authorises every request by that principal too (durableml/studio_auth.py); the URL fragment of a run
// page survives the login round trip (preserveUrlFragmentsForLogins).
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:this resource IS App Service authentication (Entra ID), set when authMode is entra
  // checkov:skip=CKV_AZURE_63:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  // checkov:skip=CKV_AZURE_65:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  // checkov:skip=CKV_AZURE_66:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  // checkov:skip=CKV_AZURE_80:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  // checkov:skip=CKV_AZURE_88:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  // checkov:skip=CKV_AZURE_222:this is the authsettingsV2 resource (App Service authentication itself), not a site configuration; the check reads site-config fields it cannot have
  parent: app
  name: 'authsettingsV2'
  properties: {
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: authMode == 'entra'
        registration: {
          clientId: entraClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${entraClientId}'
            entraClientId
          ]
        }
      }
    }
    login: {
      preserveUrlFragmentsForLogins: true
      cookieExpiration: {
        convention: 'FixedTime'
        timeToExpiration: '08:00:00'
      }
    }
    platform: {
      enabled: authMode == 'entra'
    }
  }
}

output name string = app.name
output id string = app.id
output endpoint string = 'https://${app.properties.defaultHostName}'
