-- DropIndex
DROP INDEX "Item_boardId_createdAt_idx";

-- CreateIndex
CREATE INDEX "Item_boardId_createdAt_id_idx" ON "Item"("boardId", "createdAt", "id");
