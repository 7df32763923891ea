-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "federationPolicyId" TEXT;

-- CreateTable
CREATE TABLE "FederationPolicy" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "audience" TEXT NOT NULL,
    "subject" TEXT,
    "claims" JSONB NOT NULL,
    "role" "Role" NOT NULL,
    "scopeType" "ScopeType" NOT NULL,
    "organizationId" TEXT NOT NULL,
    "spaceId" TEXT,
    "boardIds" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "tokenLifetimeSeconds" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdByUserId" TEXT,

    CONSTRAINT "FederationPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FederatedTokenUse" (
    "key" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "FederatedTokenUse_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "FederationPolicy_organizationId_createdAt_idx" ON "FederationPolicy"("organizationId", "createdAt");

-- CreateIndex
CREATE INDEX "FederationPolicy_issuer_idx" ON "FederationPolicy"("issuer");

-- CreateIndex
CREATE INDEX "FederatedTokenUse_expiresAt_idx" ON "FederatedTokenUse"("expiresAt");

-- CreateIndex
CREATE INDEX "ApiToken_federationPolicyId_idx" ON "ApiToken"("federationPolicyId");

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_federationPolicyId_fkey" FOREIGN KEY ("federationPolicyId") REFERENCES "FederationPolicy"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FederationPolicy" ADD CONSTRAINT "FederationPolicy_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FederationPolicy" ADD CONSTRAINT "FederationPolicy_spaceId_fkey" FOREIGN KEY ("spaceId") REFERENCES "Space"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FederationPolicy" ADD CONSTRAINT "FederationPolicy_createdByUserId_fkey" FOREIGN KEY ("createdByUserId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
