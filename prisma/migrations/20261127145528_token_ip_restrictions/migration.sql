-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "allowedIps" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "lastUsedIps" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Authentication reads "allowedIps": a change to it must empty every instance's credential
-- cache (20261127134500_credential_change_notices, last redefined in 20261127143655_token_not_before).
-- "lastUsedIps" is left out on purpose: every lastUsed batch writes it, and it must not empty the caches.
CREATE OR REPLACE TRIGGER "ApiToken_credentials_updated" AFTER UPDATE ON "ApiToken" FOR EACH ROW
  WHEN (OLD."secretHash" IS DISTINCT FROM NEW."secretHash"
     OR OLD."previousSecretHash" IS DISTINCT FROM NEW."previousSecretHash"
     OR OLD."previousSecretExpiresAt" IS DISTINCT FROM NEW."previousSecretExpiresAt"
     OR OLD."publicId" IS DISTINCT FROM NEW."publicId"
     OR OLD."kind" IS DISTINCT FROM NEW."kind"
     OR OLD."role" IS DISTINCT FROM NEW."role"
     OR OLD."scopeType" IS DISTINCT FROM NEW."scopeType"
     OR OLD."organizationId" IS DISTINCT FROM NEW."organizationId"
     OR OLD."spaceId" IS DISTINCT FROM NEW."spaceId"
     OR OLD."userId" IS DISTINCT FROM NEW."userId"
     OR OLD."createdByTokenId" IS DISTINCT FROM NEW."createdByTokenId"
     OR OLD."expiresAt" IS DISTINCT FROM NEW."expiresAt"
     OR OLD."notBefore" IS DISTINCT FROM NEW."notBefore"
     OR OLD."allowedIps" IS DISTINCT FROM NEW."allowedIps"
     OR OLD."revokedAt" IS DISTINCT FROM NEW."revokedAt"
     OR OLD."complexityBudget" IS DISTINCT FROM NEW."complexityBudget"
     OR OLD."name" IS DISTINCT FROM NEW."name")
  EXECUTE FUNCTION "portcullis_credentials_changed"();
