// The registry the step-runner image (repository Dockerfile) is built into and pulled from, by identity only.
param name string
param location string
param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139:public networking stays on: this template creates no VNet (Flex Consumption without VNet integration reaches it over its public endpoint, guarded by Entra ID RBAC); docs/deploy.md says how to add private endpoints; pulls need AcrPull, the admin user and anonymous pull are off
  // checkov:skip=CKV_AZURE_163:image scanning is Microsoft Defender for Containers, a paid plan the user enables per subscription
  // checkov:skip=CKV_AZURE_166:quarantine needs the Premium SKU; Basic keeps the cost at rest low and the only image is built from this repository
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
