"""camfleet's web API: readiness, sites, cameras, checks, sweeps and discovery over HTTP."""
