-- AlterTable
ALTER TABLE "ApiToken" ADD COLUMN     "complexityBudget" INTEGER;
