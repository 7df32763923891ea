-- CreateTable
CREATE TABLE "LeakReport" (
    "id" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LeakReport_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "LeakReport_token_key" ON "LeakReport"("token");

-- CreateIndex
CREATE INDEX "LeakReport_createdAt_idx" ON "LeakReport"("createdAt");
