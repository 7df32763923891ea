-- Credential change notices: every change to what authenticating a request reads (a token's
-- row and boards, a user, their memberships, a session) sends a notice on the channel
-- portcullis_credentials when its transaction commits. Every gateway instance LISTENs and drops
-- its cached credentials (src/auth/credentialChanges.ts). Triggers catch every path: mutations,
-- cascades (a deleted space or board), and changes made with other tools.
-- lastUsedAt (written in batches) and updatedAt are left out: they change nothing a check reads.
-- (The body's semicolons are written \073: @prisma/adapter-pg splits a migration at every semicolon.)
CREATE FUNCTION "portcullis_credentials_changed"() RETURNS trigger LANGUAGE plpgsql
  AS E'BEGIN PERFORM pg_notify(''portcullis_credentials'', TG_TABLE_NAME)\073 RETURN NULL\073 END';

CREATE TRIGGER "ApiToken_credentials_updated" AFTER UPDATE ON "ApiToken" FOR EACH ROW
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
     OR OLD."revokedAt" IS DISTINCT FROM NEW."revokedAt"
     OR OLD."complexityBudget" IS DISTINCT FROM NEW."complexityBudget"
     OR OLD."name" IS DISTINCT FROM NEW."name")
  EXECUTE FUNCTION "portcullis_credentials_changed"();
CREATE TRIGGER "ApiToken_credentials_deleted" AFTER DELETE ON "ApiToken" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
CREATE TRIGGER "ApiTokenBoard_credentials_changed" AFTER INSERT OR UPDATE OR DELETE ON "ApiTokenBoard" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
CREATE TRIGGER "Membership_credentials_changed" AFTER INSERT OR UPDATE OR DELETE ON "Membership" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
CREATE TRIGGER "Session_credentials_changed" AFTER UPDATE OR DELETE ON "Session" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
-- Per row, and only for a real change: signUp's same-value upsert and its claim of a placeholder
-- that matches nothing must not empty every instance's cache.
CREATE TRIGGER "User_credentials_updated" AFTER UPDATE ON "User" FOR EACH ROW
  WHEN (OLD.* IS DISTINCT FROM NEW.*)
  EXECUTE FUNCTION "portcullis_credentials_changed"();
CREATE TRIGGER "User_credentials_deleted" AFTER DELETE ON "User" FOR EACH STATEMENT
  EXECUTE FUNCTION "portcullis_credentials_changed"();
