import sys

from rs1fw.cli import main

sys.exit(main())
