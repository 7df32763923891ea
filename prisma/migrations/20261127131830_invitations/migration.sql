-- AlterTable
ALTER TABLE "Membership" ADD COLUMN     "acceptedAt" TIMESTAMP(3),
ADD COLUMN     "invitedByName" TEXT,
ADD COLUMN     "invitedEmail" TEXT,
ADD COLUMN     "inviteeRef" TEXT;

-- AlterTable
ALTER TABLE "User" ALTER COLUMN "passwordHash" DROP NOT NULL;

-- Every membership made before invitations existed was effective at once: accepted.
UPDATE "Membership" SET "acceptedAt" = "createdAt";
