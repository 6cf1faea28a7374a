"""The running system's fixtures (Workers + broker, or RS1_*_URL) for the suites using them."""

pytest_plugins = ["system_fixtures"]
