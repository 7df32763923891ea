-- AlterTable: each item carries its board's place (boards never move), filled in from the boards.
ALTER TABLE "Item" ADD COLUMN     "organizationId" TEXT,
ADD COLUMN     "spaceId" TEXT;

UPDATE "Item" i SET "organizationId" = b."organizationId", "spaceId" = b."spaceId" FROM "Board" b WHERE b."id" = i."boardId";

ALTER TABLE "Item" ALTER COLUMN "organizationId" SET NOT NULL,
ALTER COLUMN "spaceId" SET NOT NULL;
