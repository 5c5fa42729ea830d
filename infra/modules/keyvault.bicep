// Key Vault for the secrets the product holds (Databricks tokens, datastore keys/SAS users register):
// RBAC mode (no access policies), referenced by secret name, never copied into app settings.
param name string
param location string
param tags object
param logAnalyticsId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_42:recoverable means purge protection too, which would block `azd down --purge`; soft delete keeps deleted secrets 7 days
  // checkov:skip=CKV_AZURE_110:purge protection would make `azd down --purge` unable to remove the vault (and its name) for 7 days; deleted secrets are still recoverable for 7 days (soft delete)
  // checkov:skip=CKV_AZURE_109:firewall default Allow: this template creates no VNet (Flex Consumption without VNet integration reaches it over its public endpoint, guarded by Entra ID RBAC); docs/deploy.md says how to add private endpoints; RBAC mode, only the app identity and the deployer hold secret roles
  // checkov:skip=CKV_AZURE_189:public network access stays on: this template creates no VNet (Flex Consumption without VNet integration reaches it over its public endpoint, guarded by Entra ID RBAC); docs/deploy.md says how to add private endpoints
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
