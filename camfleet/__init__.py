"""camfleet core: configuration, storage, the site register, readiness rules and the CLI."""

__version__ = "0.1.0"
