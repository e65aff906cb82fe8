-- Till conveniences (issue 13): a product may carry a barcode (EAN/UPC or any scanner code),
-- unique across products like the SKU, so the till's one field accepts either.
ALTER TABLE "products" ADD COLUMN "barcode" VARCHAR(64);
CREATE UNIQUE INDEX "products_barcode_key" ON "products"("barcode");
