import sys

from rs1tools.fleet.cli import main

sys.exit(main())
