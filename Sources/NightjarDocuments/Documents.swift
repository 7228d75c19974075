// NightjarDocuments: pure readers (to be written).
