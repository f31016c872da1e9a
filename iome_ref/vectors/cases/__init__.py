"""The cases of each vector file, one module per area; ``generate.VECTOR_FILES`` lists them."""
