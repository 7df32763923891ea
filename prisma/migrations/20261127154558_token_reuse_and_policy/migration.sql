-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "reuseDetectedAt" TIMESTAMP(3),
ADD COLUMN     "revokeOnReuse" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "ApiTokenSecretDigest" (
    "digest" TEXT NOT NULL,
    "tokenId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" TIMESTAMP(3),

    CONSTRAINT "ApiTokenSecretDigest_pkey" PRIMARY KEY ("digest")
);

-- CreateTable
CREATE TABLE "OrganizationTokenPolicy" (
    "organizationId" TEXT NOT NULL,
    "maxLifetimeSeconds" INTEGER,
    "requireExpiry" BOOLEAN NOT NULL DEFAULT false,
    "allowPersonalTokens" BOOLEAN NOT NULL DEFAULT true,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OrganizationTokenPolicy_pkey" PRIMARY KEY ("organizationId")
);

-- CreateIndex
CREATE INDEX "ApiTokenSecretDigest_tokenId_idx" ON "ApiTokenSecretDigest"("tokenId");

-- CreateIndex
CREATE INDEX "ApiTokenSecretDigest_retiredAt_idx" ON "ApiTokenSecretDigest"("retiredAt");

-- AddForeignKey
ALTER TABLE "ApiTokenSecretDigest" ADD CONSTRAINT "ApiTokenSecretDigest_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "ApiToken"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OrganizationTokenPolicy" ADD CONSTRAINT "OrganizationTokenPolicy_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Authentication reads each organization's token policy with the credential (credentialLookup.ts):
-- a change to a policy must empty every instance's credential cache, like a change to a token
-- (20261127134500_credential_change_notices). The ApiToken columns added above are not read on
-- the way to a successful check (a refusal always reads the row again), so its trigger stays.
CREATE TRIGGER "OrganizationTokenPolicy_credentials_changed" AFTER INSERT OR UPDATE OR DELETE ON "OrganizationTokenPolicy" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
