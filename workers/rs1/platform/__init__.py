"""Adapters to the Workers runtime. Only this package imports `workers`/`js`."""
