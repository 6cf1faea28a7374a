"""`python -m rs1tools.rs1ctl` (what bin/rs1ctl runs)."""

import sys

from rs1tools.rs1ctl.app import main

sys.exit(main())
