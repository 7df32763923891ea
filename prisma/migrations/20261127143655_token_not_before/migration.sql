-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "expiringNotice1dAt" TIMESTAMP(3),
ADD COLUMN     "expiringNotice7dAt" TIMESTAMP(3),
ADD COLUMN     "notBefore" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "ApiToken_expiresAt_idx" ON "ApiToken"("expiresAt");

-- Authentication reads "notBefore": a change to it must empty every instance's credential
-- cache like the other columns (20261127134500_credential_change_notices). The notice columns
-- are left out: nothing that authenticates reads them.
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
     OR OLD."revokedAt" IS DISTINCT FROM NEW."revokedAt"
     OR OLD."complexityBudget" IS DISTINCT FROM NEW."complexityBudget"
     OR OLD."name" IS DISTINCT FROM NEW."name")
  EXECUTE FUNCTION "portcullis_credentials_changed"();
