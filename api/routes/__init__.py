"""Routes of the web API, one module per resource."""
