"""RS-1 Cloud: the shared package behind the three Python Workers.

Everything here except `rs1.platform.cloudflare` is plain Python: it never imports `js`,
`pyodide` or `workers`, so pytest and hypothesis run it on CPython.
"""

__version__ = "0.1.0"
